"""``loopml config``: inspect the resolved settings."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from loopml.cli._helpers import console, print_json, state
from loopml.cli._text import esc

app = typer.Typer(help="Inspect loopml settings.", no_args_is_help=True)


@app.command("show")
def show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Print every setting, its value and where it came from."""
    from loopml.store.sql import safe_url

    rows = [
        (name, safe_url(value) if name == "db_url" else value, source)
        for name, value, source in state(ctx).settings().describe()
    ]
    if as_json:
        print_json({name: {"value": value, "source": source} for name, value, source in rows})
        return
    table = Table("setting", "value", "source")
    for row in rows:
        table.add_row(*(esc(cell) for cell in row))
    console.print(table)
