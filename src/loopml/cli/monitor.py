"""``loopml monitor``: drift of a window against a reference (more sub-commands later)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loopml.cli._helpers import console, print_json, workspace_for

app = typer.Typer(
    help="Monitor models and data: drift with calibrated thresholds.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command("drift")
def drift_cmd(
    ctx: typer.Context,
    reference: Annotated[
        str, typer.Argument(help="Dataset ref NAME@REF, a .parquet/.csv/.json file or models:/...")
    ],
    current: Annotated[str, typer.Argument(help="Dataset ref NAME@REF or a .parquet/.csv file.")],
    columns: Annotated[
        str | None, typer.Option("--columns", help="Comma-separated columns to test.")
    ] = None,
    spec: Annotated[Path | None, typer.Option("--spec", help="Monitor spec (YAML).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Drift of CURRENT against REFERENCE per column; exit 1 when drift is found."""
    import os

    from loopml.monitoring import drift

    # two local files need no loopml home; refs and model URIs resolve in the workspace
    local = os.path.isfile(reference) and os.path.isfile(current)
    ws = None if local else workspace_for(ctx, read_only=True)
    names = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    report = drift(reference, current, columns=names, spec=spec, workspace=ws)
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(report.table())
        verdict = ", ".join(report.drifted_columns) if report.drifted else "none"
        console.print(f"drifted: {verdict}")
    if report.drifted:
        raise typer.Exit(1)
