"""``loopml demo``: the closed-loop walking skeleton on embedded defaults."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from loopml.cli._helpers import console, err_console, print_json, state
from loopml.cli._text import esc


def demo(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(min=4, max=365, help="Days of transactions.")] = 30,
    rows_per_day: Annotated[int, typer.Option(min=100, max=100_000, help="Rows a day.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the data, the model and the tuner.")] = 7,
    tune_trials: Annotated[int, typer.Option(min=1, max=50, help="Tuning trials.")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Version data, train and tune in tracked runs, gate, register and promote a fraud model."""
    from loopml.demo import run_demo  # sklearn and pandas load only when the demo runs

    workspace = state(ctx).workspace()
    settings = workspace.settings
    with err_console.status("starting") as status:
        result = run_demo(
            workspace,
            days=days,
            rows_per_day=rows_per_day,
            seed=seed,
            tune_trials=tune_trials,
            progress=lambda msg: status.update(msg),
        )
    if as_json:
        print_json(result.as_dict())
        return
    gates = (
        f"[green]all {result.gates_total} passed[/]"
        if result.gates_passed
        else f"[red]{len(result.gates_failed)} of {result.gates_total} failed[/]: "
        + esc(", ".join(result.gates_failed))
    )
    drift = esc(", ".join(result.drift_anomalies)) or "none"
    table = Table(title=f"loopml demo in {esc(settings.home)}", show_header=False)
    table.add_column("what", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_row(
        "data",
        f"{result.dataset_version}: {result.rows:,} transactions ({result.fraud_rate:.2%} fraud)",
    )
    table.add_row("validation", "clean" if result.validation_ok else "[red]anomalies[/]")
    table.add_row("next window (drifted)", f"caught: {drift}")
    table.add_row("training run", f"run:{result.run_id}")
    table.add_row("held-out ROC-AUC / PR-AUC", f"{result.roc_auc:.3f} / {result.pr_auc:.3f}")
    table.add_row(
        "tuning",
        f"{result.tune_trials} trials under run:{result.tune_parent_run_id}, "
        f"best ROC-AUC {result.tune_best_value:.3f}",
    )
    table.add_row("registered", f"{result.model} v{result.model_version} ({result.model_semver})")
    table.add_row("gates", gates)
    table.add_row("champion", "promoted after approval" if result.promoted else "not promoted")
    table.add_row(
        "pipeline (template)",
        f"{result.pipeline_steps} steps; re-run reused "
        f"{result.pipeline_cached_on_rerun} from the cache; registered "
        f"{result.pipeline_candidate}",
    )
    table.add_row(
        "served champion",
        f"{result.serve_requests} requests at {result.serve_requests_per_s:,.0f}/s, "
        f"p50 {result.serve_p50_ms:.1f} ms, p99 {result.serve_p99_ms:.1f} ms, "
        f"{result.serve_errors} errors",
    )
    table.add_row(
        "prediction log + feedback",
        f"{result.predictions_logged} logged, {result.feedback_labelled} labelled, "
        f"live accuracy {result.live_accuracy:.3f}",
    )
    table.add_row("evaluation report", esc(result.report_path))
    table.add_row("model card", esc(result.card_path))
    table.add_row("took", f"{result.seconds:.1f} s")
    console.print(table)
    console.print(f"Lineage: loopml lineage show run:{result.run_id}")
    console.print(f"Runs:    loopml runs list   |   Models: loopml models show {result.model}")
    console.print(f"Pipeline: loopml pipeline show {result.pipeline_run_id}")
