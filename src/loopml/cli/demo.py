"""``loopml demo``: the closed loop, end to end, on embedded defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from loopml.cli._helpers import console, err_console, print_json, state
from loopml.cli._text import esc

if TYPE_CHECKING:
    from rich.console import Console

    from loopml.demo import DemoResult


def _num(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def demo(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(min=4, max=365, help="Days of transactions.")] = 30,
    rows_per_day: Annotated[int, typer.Option(min=100, max=100_000, help="Rows a day.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the data, the model and the tuner.")] = 7,
    tune_trials: Annotated[int, typer.Option(min=1, max=50, help="Tuning trials.")] = 4,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="The small configuration (about a minute; no model analysis)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Train and promote a fraud model, serve it, drift it; the loop retrains and promotes.

    It streams drifting traffic with late labels, detects the drift, retrains, gates,
    canaries and promotes, and measures the recovery.
    """
    from loopml.demo import run_demo  # sklearn and pandas load only when the demo runs

    workspace = state(ctx).workspace()
    settings = workspace.settings
    # The story goes to stderr with --json (stdout stays one JSON document).
    narrator = err_console if as_json else console
    result = run_demo(
        workspace,
        days=days,
        rows_per_day=rows_per_day,
        seed=seed,
        tune_trials=tune_trials,
        quick=quick,
        progress=lambda msg: narrator.print(esc(msg)),
    )
    if as_json:
        print_json(result.as_dict())
        return
    show_result(result, settings.home, console)


def show_result(result: DemoResult, home: object, out: Console) -> None:
    """The demo's result as a person reads it: the table, the lineage, the readiness."""
    loop: dict[str, Any] = result.loop
    table = Table(title=f"loopml demo in {esc(home)}", show_header=False)
    table.add_column("what", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_row(
        "data",
        f"{result.dataset_version}: {result.rows:,} transactions ({result.fraud_rate:.2%} fraud)",
    )
    table.add_row("champion", f"{result.model} v{result.model_version}, held-out ROC-AUC "
                  f"{result.roc_auc:.3f}, gates {result.gates_total - len(result.gates_failed)}"
                  f"/{result.gates_total}")  # fmt: skip
    table.add_row(
        "served",
        f"{result.serve_requests:,} requests ({result.predictions_logged:,} rows) through "
        f"{esc(result.serve_deployment)} and its canary at {result.serve_requests_per_s:,.0f}/s"
        f" (4 client threads), p50 {result.serve_p50_ms:.1f} ms, "
        f"p99 {result.serve_p99_ms:.1f} ms, {result.serve_errors} errors; "
        f"{result.feedback_labelled:,} labels fed back",
    )
    table.add_row(
        "drift detected",
        f"{loop['detected_after_rows']} rows / {_num(loop['detected_after_s'], 1)} s after "
        f"onset (row {loop['drift_onset_row']:,}); false triggers before drift: "
        f"{loop['false_triggers_before_drift']}",
    )
    table.add_row(
        "the loop",
        f"chain {loop['chain_outcome']}: {esc(', '.join(loop['chain_steps']))}; "
        f"candidate v{loop['candidate']} on {esc(loop['new_data_version'])}; canary "
        f"{esc(loop['canary_deployment'])}; promoted {loop['promoted_after_rows']} rows / "
        f"{_num(loop['promoted_after_s'], 1)} s after onset",
    )
    table.add_row(
        "pipeline",
        f"the first champion by pipeline run {result.first_pipeline_run_id}, the new one by "
        f"{result.pipeline_run_id}; its re-run {result.pipeline_rerun_id} took "
        f"{result.pipeline_cached_on_rerun}/{result.pipeline_steps} steps from the cache"
        + (" and names the same version" if result.pipeline_rerun_same_version else ""),
    )
    table.add_row(
        "live ROC-AUC",
        f"before drift {_num(loop['auc_before_drift'])}, after drift "
        f"{_num(loop['auc_after_drift'])}, after recovery {_num(loop['auc_after_recovery'])}",
    )
    table.add_row(
        "live accuracy",
        f"before {_num(loop['accuracy_before_drift'])}, after drift "
        f"{_num(loop['accuracy_after_drift'])}, after recovery "
        f"{_num(loop['accuracy_after_recovery'])} (about 2 % fraud: accuracy hardly moves)",
    )
    table.add_row(
        "agent /metrics",
        f"{loop['agent_monitor_gauges']} monitor gauge series (drift per feature, live and "
        "estimated metrics)",
    )
    table.add_row("HTML report", esc(loop["html_report"]))
    table.add_row("took", f"{result.seconds:.1f} s")
    out.print(table)
    out.print(f"\nWhy is {esc(loop['champion_after'])} in production? "
                  "(loopml lineage show models:/fraud@champion)")  # fmt: skip
    for line in loop["lineage"]:
        if "artifact:" not in line and any(
            k in line for k in ("alert:", "trigger_event:", "monitor_window:", "run:")
        ):
            out.print(f"  {esc(line)}")
    out.print("\nReadiness (loopml readiness models:/fraud@champion):")
    for item in loop["readiness"]:
        mark = "[green]ok[/]  " if item["ok"] else "[red]no[/]  "
        out.print(f"  {mark}{esc(item['name'])}: {esc(item['evidence'])}")
    out.print(f"\nOpen the report: {esc(loop['html_report'])}")
