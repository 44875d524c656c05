"""``loopml features``: apply definitions, build training sets, materialise, look up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from loopml.cli._helpers import console, print_json, workspace_for
from loopml.cli._text import esc
from loopml.errors import InvalidInput

app = typer.Typer(
    help="Feature store: definitions, training sets, materialisation, online lookups.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
PathArg = Annotated[
    Path, typer.Argument(help="features.yaml, a Python file of definitions, or its folder.")
]
_COLOURS = {"create": "green", "update": "yellow", "unchanged": "dim", "not in file": "dim"}


def _changes(changes: list[Any], as_json: bool, title: str) -> None:
    if as_json:
        print_json([c.to_dict() for c in changes])
        return
    table = Table(title=title)
    for column in ("kind", "name", "action", "version", "changes"):
        table.add_column(column)
    for c in changes:
        colour = _COLOURS.get(c.action, "")
        table.add_row(
            esc(c.kind),
            esc(c.name),
            f"[{colour}]{esc(c.action)}[/]",
            "" if c.version is None else str(c.version),
            esc("; ".join(c.changes)),
        )
    console.print(table)


@app.command("plan")
def plan_cmd(
    ctx: typer.Context, path: PathArg = Path("features.yaml"), as_json: JsonOpt = False
) -> None:
    """Check definitions against their data and show what apply would change."""
    from loopml.features import load_definitions, plan

    ws = workspace_for(ctx)
    _changes(plan(load_definitions(path), workspace=ws), as_json, "plan")


@app.command("apply")
def apply_cmd(
    ctx: typer.Context, path: PathArg = Path("features.yaml"), as_json: JsonOpt = False
) -> None:
    """Store a new version of every changed definition, with lineage to its data."""
    from loopml.features import apply, load_definitions

    ws = workspace_for(ctx)
    _changes(apply(load_definitions(path), workspace=ws), as_json, "applied")


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    kind: Annotated[
        str | None, typer.Option("--kind", help="entity, feature_view, feature_service...")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the newest version of every applied definition, with freshness of views."""
    ws = workspace_for(ctx, read_only=True)
    rows = ws.store.list_feature_definitions(kind)
    marks: dict[str, Any] = {}
    for mark in ws.store.list_feature_watermarks():
        marks.setdefault(mark.view, mark)
    data: list[dict[str, Any]] = [
        {
            "kind": r.kind,
            "name": r.name,
            "version": r.version,
            "id": r.id,
            "created_by": r.created_by,
            "materialized_to_ms": marks[r.name].end_ms if r.name in marks else None,
        }
        for r in rows
        if r.kind != "project"
    ]
    if as_json:
        print_json(data)
        return
    table = Table(title="feature definitions")
    for column in ("kind", "name", "version", "by", "materialised to"):
        table.add_column(column)
    for d in data:
        fresh = d["materialized_to_ms"]
        table.add_row(
            esc(d["kind"]),
            esc(d["name"]),
            str(d["version"]),
            esc(d["created_by"]),
            "" if fresh is None else _ms(fresh),
        )
    console.print(table)


def _ms(value: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(value / 1000, dt.UTC).isoformat(timespec="seconds")


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Definition name.")],
    kind: Annotated[str, typer.Option("--kind", help="Kind of definition.")] = "feature_view",
    version: Annotated[int | None, typer.Option("--version", help="Version number.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one definition version (newest by default) and its materialisation."""
    ws = workspace_for(ctx, read_only=True)
    row = ws.store.get_feature_definition(kind, name, version)
    data: dict[str, Any] = {
        "kind": row.kind,
        "name": row.name,
        "version": row.version,
        "id": row.id,
        "digest": row.digest,
        "created_at_ms": row.created_at_ms,
        "created_by": row.created_by,
        "spec": dict(row.spec),
        "versions": len(ws.store.feature_definition_history(kind, name)),
        "materialized": [
            {"target": m.target, "end_ms": m.end_ms, "rows": m.rows}
            for m in ws.store.list_feature_watermarks(name)
        ]
        if kind == "feature_view"
        else [],
    }
    if as_json:
        print_json(data)
        return
    import json

    console.print(f"[bold]{esc(kind)} {esc(name)}[/] v{row.version} (id {row.id})")
    console.print(esc(json.dumps(data["spec"], indent=2, default=str)))
    for m in data["materialized"]:
        console.print(f"materialised to {_ms(m['end_ms'])} in {esc(m['target'])}")


@app.command("materialize")
def materialize_cmd(
    ctx: typer.Context,
    view: Annotated[
        list[str] | None, typer.Option("--view", help="View to materialise (repeatable).")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="Read rows known after this time (ISO).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="Read rows known up to this time (ISO).")
    ] = None,
    online: Annotated[
        str | None, typer.Option("--online-store", help="sqlite, sqlite:///PATH, redis://...")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy the newest feature values into the online store (incremental by default)."""
    from loopml.features import materialize

    ws = workspace_for(ctx, read_only=True)
    with console.status("materialising", spinner="dots"):
        results = materialize(view, start=start, end=end, online_store=online, workspace=ws)
    if as_json:
        print_json([r.to_dict() for r in results])
        return
    for r in results:
        how = "full" if r.full else "incremental"
        console.print(f"{esc(r.view)}: {r.rows} keys written ({how}) to {esc(r.target)}")


def _features(features: str | None, service: str | None) -> list[str] | str:
    if (features is None) == (service is None):
        raise InvalidInput(
            "give either --features or --service",
            hint="--features view:feature,view2 or --service NAME.",
        )
    if service is not None:
        return service
    assert features is not None
    return [f.strip() for f in features.split(",") if f.strip()]


FeaturesOpt = Annotated[
    str | None, typer.Option("--features", help="Comma-separated view:feature or view names.")
]
ServiceOpt = Annotated[str | None, typer.Option("--service", help="A feature service's name.")]


@app.command("get-historical")
def get_historical_cmd(
    ctx: typer.Context,
    entities: Annotated[Path, typer.Option("--entities", help="Entity rows (.parquet or .csv).")],
    output: Annotated[Path, typer.Option("--output", help="Parquet file to write.")],
    features: FeaturesOpt = None,
    service: ServiceOpt = None,
    timestamp_column: Annotated[
        str, typer.Option("--timestamp-column", help="Column of each row's time.")
    ] = "event_timestamp",
    save: Annotated[
        str | None, typer.Option("--save", help="Also commit it as a version of DATASET.")
    ] = None,
    memory_limit: Annotated[
        str | None, typer.Option("--memory-limit", help="DuckDB memory limit, e.g. 2GB.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a point-in-time correct training set for the entity rows."""
    from loopml.features import get_historical_features

    ws = workspace_for(ctx, read_only=True)
    job = get_historical_features(
        entities,
        _features(features, service),
        timestamp_column=timestamp_column,
        memory_limit=memory_limit,
        workspace=ws,
    )
    with console.status("joining", spinner="dots"):
        path = job.to_parquet(output)
    version = job.save(save) if save else None
    import pyarrow.parquet as pq

    data = {
        "output": str(path),
        "rows": pq.ParquetFile(path).metadata.num_rows,
        "features": job.selection.output_names,
        "dataset_version": None if version is None else version.id,
    }
    if as_json:
        print_json(data)
        return
    console.print(f"{data['rows']} rows, {len(data['features'])} features -> {esc(path)}")
    if version is not None:
        console.print(f"saved as {esc(save)}@{version.id[:12]}")


@app.command("get-online")
def get_online_cmd(
    ctx: typer.Context,
    entity: Annotated[
        list[str], typer.Option("--entity", help="KEY=VALUE[,KEY=VALUE] per row (repeatable).")
    ],
    features: FeaturesOpt = None,
    service: ServiceOpt = None,
    online: Annotated[
        str | None, typer.Option("--online-store", help="sqlite, sqlite:///PATH, redis://...")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Look up the newest materialised feature values of some entities."""
    from loopml.features import get_online_features

    rows = []
    for text in entity:
        row: dict[str, Any] = {}
        for part in text.split(","):
            key, sep, value = part.partition("=")
            if not sep:
                raise InvalidInput(f"--entity {text!r}: expected KEY=VALUE", hint="e.g. user_id=7")
            row[key.strip()] = _number(value.strip())
        rows.append(row)
    ws = workspace_for(ctx, read_only=True)
    got = get_online_features(
        rows, _features(features, service), online_store=online, workspace=ws
    ).to_records()
    if as_json:
        print_json([{**r, **g} for r, g in zip(rows, got, strict=True)])
        return
    for r, g in zip(rows, got, strict=True):
        console.print(esc(f"{r} -> {g}"))


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


StartOpt = Annotated[
    str | None, typer.Option("--start", help="Rows known at or after this time (ISO 8601).")
]
EndOpt = Annotated[str | None, typer.Option("--end", help="Rows known before this time.")]
LatestOpt = Annotated[
    bool, typer.Option("--latest", help="Only the newest row per entity (what is served).")
]


@app.command("stats")
def stats_cmd(
    ctx: typer.Context,
    view: Annotated[str, typer.Argument(help="An applied feature view.")],
    start: StartOpt = None,
    end: EndOpt = None,
    latest: LatestOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Statistics of a feature view's values (count, nulls, mean, spread, top values)."""
    from loopml.data import profile_table
    from loopml.features import read_feature_view

    ws = workspace_for(ctx, read_only=True)
    table = read_feature_view(view, start=start, end=end, latest=latest, workspace=ws)
    names = (table.schema.metadata or {}).get(b"loopml.features", b"").decode().split(",")
    profile = profile_table(table.select([n for n in names if n]))
    if as_json:
        print_json({"view": view, "rows": table.num_rows, "profile": profile})
        return
    out = Table(title=f"{view}: {table.num_rows} rows")
    for column in ("feature", "kind", "nulls", "mean", "std", "min", "max", "top"):
        out.add_column(column)
    for name, entry in profile["columns"].items():

        def fmt(key: str, e: dict[str, Any] = entry) -> str:
            value = e.get(key)
            return (
                "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
            )

        top = entry.get("top") or []
        out.add_row(
            esc(name),
            esc(str(entry.get("kind", ""))),
            fmt("nulls"),
            fmt("mean"),
            fmt("std"),
            fmt("min"),
            fmt("max"),
            esc(", ".join(str(t[0] if isinstance(t, list | tuple) else t) for t in top[:3])),
        )
    console.print(out)


@app.command("drift")
def drift_cmd(
    ctx: typer.Context,
    view: Annotated[str, typer.Argument(help="An applied feature view.")],
    start: Annotated[str, typer.Option("--start", help="Start of the window (ISO 8601).")],
    end: EndOpt = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="NAME@REF, a file or a profile (default: earlier rows)."),
    ] = None,
    reference_start: Annotated[
        str | None, typer.Option("--reference-start", help="Start of the reference window.")
    ] = None,
    latest: LatestOpt = False,
    spec: Annotated[Path | None, typer.Option("--spec", help="Monitor spec (YAML).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Drift of a feature view's window against its earlier values; exit 1 on drift."""
    from loopml.monitoring import feature_drift

    ws = workspace_for(ctx, read_only=True)
    report = feature_drift(
        view,
        start=start,
        end=end,
        reference=reference,
        reference_start=reference_start,
        latest=latest,
        spec=spec,
        workspace=ws,
    )
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(report.table())
        verdict = ", ".join(report.drifted_columns) if report.drifted else "none"
        console.print(f"drifted: {esc(verdict)}")
    if report.drifted:
        raise typer.Exit(1)
