"""``loopml evaluate``: measure a model on data and judge it by gates (exit 1 on failure)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from loopml.cli._helpers import console, print_json, workspace_for
from loopml.cli._text import esc


def evaluate_cmd(
    ctx: typer.Context,
    model_uri: Annotated[
        str, typer.Argument(help="models:/NAME@ALIAS, models:/NAME/VERSION or a model directory.")
    ],
    data: Annotated[Path, typer.Option("--data", help="Evaluation data (.parquet, .csv, .json).")],
    target: Annotated[str, typer.Option("--target", help="Label column.")],
    gates: Annotated[
        Path | None, typer.Option("--gates", help="gates.yaml to judge the model by.")
    ] = None,
    slices: Annotated[
        list[str] | None,
        typer.Option("--slice", help="Slice column (one slice per value) or NAME=EXPR."),
    ] = None,
    sensitive: Annotated[
        list[str] | None, typer.Option("--sensitive", help="Column to measure fairness across.")
    ] = None,
    train: Annotated[
        Path | None, typer.Option("--train", help="Training data, for leakage checks.")
    ] = None,
    timestamp: Annotated[
        str | None,
        typer.Option("--timestamp", help="Time column, for the time-order leakage check."),
    ] = None,
    task: Annotated[
        str | None, typer.Option("--task", help="classification or regression.")
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the JSON report here.")
    ] = None,
    no_infra: Annotated[
        bool, typer.Option("--no-infra", help="Skip the fresh-process checks.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Evaluate a model; with --gates, exit 1 when any rule fails (every rule is listed)."""
    from loopml.evaluation import evaluate

    workspace = workspace_for(ctx)
    specs: list[object] = []
    for item in slices or []:
        name, sep, expr = item.partition("=")
        specs.append({"name": name, "expr": expr} if sep else item)
    result = evaluate(
        model_uri,
        data,
        target,
        task=task,
        slices=specs,  # type: ignore[arg-type]
        sensitive=sensitive,
        gates=gates,
        infra=not no_infra,
        train_data=train,
        timestamp_column=timestamp,
        store=workspace.store,
        artifacts=workspace.artifacts,
        actor=workspace.actor.name,
    )
    if html is not None:
        result.write(html)
    if report is not None:
        result.write(report)
    if as_json:
        print_json(result.to_dict())
    else:
        table = Table(title=f"{esc(result.model_uri)} on {result.rows} rows ({result.task})")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, value in result.metrics.items():
            table.add_row(esc(key), f"{value:.4f}")
        console.print(table)
        if result.gates:
            gate_table = Table(title="gates")
            for column in ("rule", "measured", "bound", "result", "detail"):
                gate_table.add_column(column)
            for g in result.gates:
                gate_table.add_row(
                    esc(g.rule),
                    "–" if g.measured is None else f"{g.measured:.4g}",
                    "–" if g.bound is None else f"{g.bound:.4g}",
                    "[green]pass[/]" if g.passed else "[red]FAIL[/]",
                    esc(g.detail),
                )
            console.print(gate_table)
        if result.evaluation_id:
            console.print(f"recorded evaluation {result.evaluation_id}")
    if result.passed is False:
        raise typer.Exit(1)
