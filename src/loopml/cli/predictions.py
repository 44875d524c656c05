"""``loopml predictions``: read the prediction log back (segments, predictions, export)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from loopml.cli._helpers import console, print_json, workspace_for
from loopml.cli._text import clip, esc
from loopml.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import pandas as pd

    from loopml.workspace import Workspace

app = typer.Typer(
    help="Read the prediction log: segments, predictions with their labels, export.",
    no_args_is_help=True,
)

ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="Only this model.")]
VersionOpt = Annotated[int | None, typer.Option("--version", help="Only this version number.")]
DeploymentOpt = Annotated[str | None, typer.Option("--deployment", help="Only this deployment.")]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="From this time (ISO, e.g. 2026-12-01T10:00).")
]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Up to this time (ISO).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _cell(value: Any) -> Any:
    """A DataFrame cell as plain JSON (arrays to lists, missing to null)."""
    import math

    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is not None and type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _cell(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _frame(
    ws: Workspace,
    model: str | None,
    version: int | None,
    deployment: str | None,
    since: str | None,
    until: str | None,
) -> pd.DataFrame:
    from loopml.serving import read_predictions

    return read_predictions(
        model, version=version, deployment=deployment, since=since, until=until, workspace=ws
    )


def _show_rows(frame: pd.DataFrame, title: str) -> None:
    table = Table(title=title)
    columns = [c for c in frame.columns if c not in ("model", "version", "deployment")]
    for name in columns:
        table.add_column(esc(name))
    for row in frame[columns].itertuples(index=False):
        table.add_row(*(esc(clip(str(_cell(v)), 40)) for v in row))
    console.print(table)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    model: ModelOpt = None,
    version: VersionOpt = None,
    deployment: DeploymentOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    rows: Annotated[
        int | None,
        typer.Option("--rows", min=1, help="List the latest N predicted rows, not segments."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the log's sealed segments (or, with --rows N, the latest predicted rows)."""
    from loopml.serving import prediction_segments

    ws = workspace_for(ctx, read_only=True)
    if rows is not None:
        frame = _frame(ws, model, version, deployment, since, until).tail(rows)
        if as_json:
            print_json(_records(frame))
        else:
            _show_rows(frame, f"latest {len(frame)} predicted row(s)")
        return
    segments = prediction_segments(
        model, version=version, deployment=deployment, since=since, until=until, workspace=ws
    )
    if as_json:
        print_json([vars(s) for s in segments])
        return
    table = Table(title=f"{len(segments)} prediction segment(s)")
    for name in ("segment", "model", "version", "deployment", "rows", "predictions", "from"):
        table.add_column(name)
    from datetime import UTC, datetime

    for s in segments:
        start = datetime.fromtimestamp(s.start_ms / 1000, tz=UTC).isoformat(timespec="seconds")
        table.add_row(
            s.id,
            esc(s.model),
            "" if s.version is None else str(s.version),
            esc(s.deployment or ""),
            str(s.rows),
            str(s.predictions),
            start,
        )
    console.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    prediction_id: Annotated[str, typer.Argument(help="The id the server answered with.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one prediction's rows (inputs, outputs) and its labels."""
    from loopml.serving import read_predictions

    ws = workspace_for(ctx, read_only=True)
    frame = read_predictions(prediction_ids=[prediction_id], workspace=ws)
    if not len(frame):
        raise NotFound(
            "prediction",
            prediction_id,
            hint="List recent ones with `loopml predictions list --rows 20`.",
        )
    if as_json:
        first = frame.iloc[0]
        print_json(
            {
                "prediction_id": prediction_id,
                "model": _cell(first["model"]),
                "version": _cell(first["version"]),
                "deployment": _cell(first["deployment"]),
                "rows": _records(frame),
            }
        )
        return
    _show_rows(frame, f"prediction {esc(prediction_id)}")


@app.command("export")
def export(
    ctx: typer.Context,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="File to write: .parquet or .csv.")
    ],
    model: ModelOpt = None,
    version: VersionOpt = None,
    deployment: DeploymentOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the logged predictions (with labels) to a Parquet or CSV file."""
    suffix = output.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InvalidInput(
            f"--output {str(output)!r} must end in .parquet or .csv",
            hint="Name the file out.parquet or out.csv.",
        )
    ws = workspace_for(ctx, read_only=True)
    frame = _frame(ws, model, version, deployment, since, until)
    # labels are any JSON value: one text column keeps a mix of types writable
    frame["label"] = [None if v is None else json.dumps(v) for v in frame["label"]]
    output.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        frame.to_parquet(output, index=False)
    else:
        frame.to_csv(output, index=False)
    summary = {"output": str(output), "rows": len(frame)}
    if as_json:
        print_json(summary)
    else:
        console.print(f"wrote {len(frame)} row(s) to {esc(output)}")
