"""``loopml agent``: the loop that starts scheduled pipeline runs when they are due."""

from __future__ import annotations

from typing import Annotated

import typer

from loopml.cli._helpers import console, print_json, state
from loopml.cli._text import esc


def agent(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run what is due now, then exit.")] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between checks.")
    ] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print started runs as JSON.")] = False,
) -> None:
    """Start due scheduled runs; one schedule never runs twice at once, even with two agents."""
    from loopml.pipelines import PipelineResult, run_agent

    def report(result: PipelineResult) -> None:
        if not as_json:
            status = result.run.status.value.lower()
            console.print(f"{esc(result.run.pipeline)} run {result.id}: {status}")

    if not as_json and not once:
        console.print(f"agent started; checking schedules every {interval:g}s (Ctrl+C stops)")
    started = run_agent(
        once=once, interval_s=interval, workspace=state(ctx).workspace(), on_run=report
    )
    if as_json:
        print_json(
            [
                {"id": r.id, "pipeline": r.run.pipeline, "status": r.run.status.value}
                for r in started
            ]
        )
    elif once and not started:
        console.print("nothing due")
