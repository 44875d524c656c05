"""``loopml demo``: the closed-loop walking skeleton on embedded defaults."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from loopml.cli._helpers import console, err_console, print_json, state


def demo(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(min=4, max=365, help="Days of transactions.")] = 30,
    rows_per_day: Annotated[int, typer.Option(min=100, max=100_000, help="Rows a day.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the data and the model.")] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Generate data, train a fraud model and record it with lineage, in the loopml home."""
    from loopml.demo import run_demo  # sklearn and pandas load only when the demo runs

    settings = state(ctx).settings()
    with err_console.status("starting") as status:
        result = run_demo(
            settings,
            days=days,
            rows_per_day=rows_per_day,
            seed=seed,
            progress=lambda msg: status.update(msg),
        )
    if as_json:
        print_json(result.as_dict())
        return
    table = Table(title=f"loopml demo in {settings.home}", show_header=False)
    table.add_column("what", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_row("transactions", f"{result.rows:,} ({result.fraud_rate:.2%} fraud)")
    table.add_row("data artifact", f"artifact:{result.data_digest}")
    table.add_row("training run", f"run:{result.run_id}")
    table.add_row("held-out ROC-AUC", f"{result.roc_auc:.3f}")
    table.add_row("held-out PR-AUC", f"{result.pr_auc:.3f}")
    table.add_row("model artifact", f"artifact:{result.model_digest}")
    table.add_row("took", f"{result.seconds:.1f} s")
    console.print(table)
    console.print(f"Lineage: loopml lineage show run:{result.run_id}")
