"""``loopml runs``: list, show, compare, delete, restore and gc tracked runs."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from loopml.cli._helpers import console, print_json, workspace_for
from loopml.cli._text import CELL_LIMIT, clip, esc
from loopml.entities import MetricSummary, Run
from loopml.tracking import TrackingClient

if TYPE_CHECKING:
    from collections.abc import Mapping

app = typer.Typer(help="Tracked runs: list, show, compare, delete, gc.", no_args_is_help=True)


def _client(ctx: typer.Context, *, read_only: bool = True) -> TrackingClient:
    workspace = workspace_for(ctx, read_only=read_only)
    return TrackingClient.for_workspace(workspace, capture_environment=False)


def _when(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _num(value: float) -> float | str | None:
    if math.isnan(value):
        return None
    return value if math.isfinite(value) else repr(value)


def _run_json(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "status": run.status.value,
        "parent_id": run.parent_id,
        "created_at_ms": run.created_at_ms,
        "ended_at_ms": run.ended_at_ms,
        "error": run.error,
        "notes": run.notes,
        "deleted": run.is_deleted,
        "params": dict(run.params),
        "tags": dict(run.tags),
    }


def _summary_json(s: MetricSummary) -> dict[str, Any]:
    return {
        "latest": _num(s.latest),
        "step": s.latest_step,
        "min": _num(s.min),
        "max": _num(s.max),
        "count": s.count,
    }


_LIST_LIMIT = 40  # the list's params column packs several k=v pairs into one cell


def _long(values: Mapping[str, str], limit: int = CELL_LIMIT) -> bool:
    return any(len(v) > limit for v in values.values())


def _clipped_note(clipped: bool) -> None:
    if clipped:
        console.print("[dim]long values are cut short (…); --json prints them whole[/]")


@app.command("list")
def list_runs(
    ctx: typer.Context,
    filter: Annotated[
        str,
        typer.Option("--filter", "-f", help="e.g. \"metrics.auc > 0.9 and params.model = 'rf'\""),
    ] = "",
    order_by: Annotated[
        str | None, typer.Option("--order-by", "-o", help="e.g. 'metrics.auc desc'")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=100_000, help="Page size.")
    ] = 50,
    page: Annotated[int, typer.Option("--page", min=1, help="Page number (1-based).")] = 1,
    parent: Annotated[
        str | None, typer.Option("--parent", help="Only children of this run.")
    ] = None,
    deleted: Annotated[bool, typer.Option("--deleted", help="Include soft-deleted runs.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List runs, newest first; filter and sort run in the database."""
    client = _client(ctx)
    try:
        runs = client.search_runs(
            filter,
            order_by=order_by,
            limit=limit,
            offset=(page - 1) * limit,
            include_deleted=deleted,
            parent_id=parent,
        )
        total = client.count_runs(filter, include_deleted=deleted, parent_id=parent)
        metrics: dict[str, dict[str, MetricSummary]] = {}
        for s in client.metric_summaries([r.id for r in runs]) if runs else []:
            if not s.key.startswith("system/"):
                metrics.setdefault(s.run_id, {})[s.key] = s
    finally:
        client.close()
    if as_json:
        print_json(
            {
                "total": total,
                "page": page,
                "limit": limit,
                "runs": [
                    {
                        **_run_json(r),
                        "metrics": {k: _num(v.latest) for k, v in metrics.get(r.id, {}).items()},
                    }
                    for r in runs
                ],
            }
        )
        return
    first = (page - 1) * limit + 1
    table = Table(title=f"runs {first if runs else 0}-{first + len(runs) - 1} of {total}")
    table.add_column("id", no_wrap=True)
    for column in ("name", "status", "created (UTC)", "params", "metrics (latest)"):
        table.add_column(column, overflow="fold")
    for r in runs:
        params = ", ".join(
            f"{clip(k, _LIST_LIMIT)}={clip(v, _LIST_LIMIT)}" for k, v in list(r.params.items())[:6]
        )
        shown = ", ".join(
            f"{clip(k, _LIST_LIMIT)}={v.latest:.4g}"
            for k, v in list(metrics.get(r.id, {}).items())[:6]
        )
        table.add_row(r.id, clip(r.name), r.status.value, _when(r.created_at_ms), params, shown)
    console.print(table)
    _clipped_note(any(_long(r.params, _LIST_LIMIT) or len(r.name) > CELL_LIMIT for r in runs))


@app.command("show")
def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A run's attributes, params, tags, metrics (latest/min/max) and artifacts."""
    client = _client(ctx)
    try:
        run = client.get_run(run_id)
        summaries = client.metric_summaries([run_id])
        artifacts = client.list_artifacts(run_id)
    finally:
        client.close()
    if as_json:
        print_json(
            {
                **_run_json(run),
                "metrics": {s.key: _summary_json(s) for s in summaries},
                "artifacts": [
                    {"path": a.path, "digest": a.digest, "size": a.size} for a in artifacts
                ],
            }
        )
        return
    console.print(f"[bold]{esc(run.name)}[/] {run.id}  [bold]{run.status.value}[/]")
    console.print(
        f"created {_when(run.created_at_ms)}  ended {_when(run.ended_at_ms)}  "
        f"parent {run.parent_id or '-'}"
    )
    if run.error:
        console.print(f"[red]error:[/] {esc(run.error)}")
    if run.notes:
        console.print(f"notes: {esc(run.notes)}")
    for title, values in (("params", run.params), ("tags", run.tags)):
        table = Table(title=title)
        table.add_column("key")
        table.add_column("value", overflow="fold")
        for k, v in sorted(values.items()):
            table.add_row(esc(k), clip(v))
        console.print(table)
    table = Table(title="metrics")
    for column in ("key", "latest", "step", "min", "max", "points"):
        table.add_column(column)
    for s in summaries:
        table.add_row(
            esc(s.key),
            f"{s.latest:.6g}",
            str(s.latest_step),
            f"{s.min:.6g}",
            f"{s.max:.6g}",
            str(s.count),
        )
    console.print(table)
    table = Table(title="artifacts")
    for column in ("path", "size", "digest"):
        table.add_column(column)
    for a in artifacts:
        table.add_row(esc(a.path), str(a.size), a.digest[:16])
    console.print(table)
    _clipped_note(_long(run.params) or _long(run.tags))


@app.command("compare")
def compare(
    ctx: typer.Context,
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids.")],
    history: Annotated[
        list[str] | None,
        typer.Option("--history", help="Also print this metric's history per run (repeatable)."),
    ] = None,
    all_params: Annotated[
        bool, typer.Option("--all-params", help="Show equal params too.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Params diff, latest/best metrics side by side, and metric histories."""
    client = _client(ctx)
    try:
        comparison = client.compare(run_ids)
        histories = {
            key: {
                rid: [(m.step, _num(m.value)) for m in client.metric_history(rid, key)]
                for rid in run_ids
            }
            for key in history or []
        }
    finally:
        client.close()
    if as_json:
        print_json(
            {
                "runs": [_run_json(r) for r in comparison.runs],
                "params": comparison.params,
                "differing_params": comparison.differing_params,
                "metrics": {
                    k: {rid: _summary_json(s) for rid, s in v.items()}
                    for k, v in comparison.metrics.items()
                },
                "histories": histories,
            }
        )
        return
    ids = [r.id for r in comparison.runs]
    table = Table(title="params" + ("" if all_params else " (differing)"))
    table.add_column("param")
    for r in comparison.runs:
        table.add_column(f"{clip(r.name)}\n{r.id[:12]}")
    for key, values in comparison.params.items():
        if all_params or key in comparison.differing_params:
            table.add_row(esc(key), *[clip(values.get(i) or "-") for i in ids])
    console.print(table)
    table = Table(title="metrics: latest (min..max)")
    table.add_column("metric")
    for r in comparison.runs:
        table.add_column(f"{clip(r.name)}\n{r.id[:12]}")
    for key, per_run in comparison.metrics.items():
        cells = []
        for i in ids:
            s = per_run.get(i)
            cells.append("-" if s is None else f"{s.latest:.4g} ({s.min:.4g}..{s.max:.4g})")
        table.add_row(esc(key), *cells)
    console.print(table)
    _clipped_note(any(_long(r.params) for r in comparison.runs))
    for key, by_run in histories.items():
        for rid, points in by_run.items():
            console.print(f"{esc(key)} {rid[:12]}: " + " ".join(f"{s}:{v}" for s, v in points[:50]))


@app.command("delete")
def delete(
    ctx: typer.Context,
    run_ids: Annotated[list[str], typer.Argument(help="Run ids (their child runs go too).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Soft-delete runs: hidden from lists, restorable until `runs gc`."""
    client = _client(ctx, read_only=False)
    try:
        client.delete_runs(run_ids)
    finally:
        client.close()
    if as_json:
        print_json({"deleted": run_ids})
    else:
        console.print(
            f"deleted {len(run_ids)} run(s); `loopml runs restore` undoes, `loopml runs gc` purges"
        )


@app.command("restore")
def restore(
    ctx: typer.Context,
    run_ids: Annotated[list[str], typer.Argument(help="Run ids.")],
) -> None:
    """Undo a soft delete."""
    client = _client(ctx, read_only=False)
    try:
        client.restore_runs(run_ids)
    finally:
        client.close()
    console.print(f"restored {len(run_ids)} run(s)")


@app.command("gc")
def gc(
    ctx: typer.Context,
    older_than: Annotated[
        float,
        typer.Option("--older-than", min=0, help="Only runs deleted at least this many hours ago."),
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Purge soft-deleted runs and free artifacts no longer referenced."""
    client = _client(ctx, read_only=False)
    try:
        report = client.gc(older_than_s=older_than * 3600)
    finally:
        client.close()
    if as_json:
        print_json({"freed": report.freed, "bytes_freed": report.bytes_freed})
    else:
        console.print(f"freed {len(report.freed)} artifact object(s), {report.bytes_freed:,} bytes")
