"""``loopml db``: schema status and upgrades of the metadata store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from loopml.cli._helpers import console, print_json, state, workspace_for
from loopml.cli._text import esc

if TYPE_CHECKING:
    from loopml.store.sql import Database

app = typer.Typer(help="Manage the metadata store's schema.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


def _database(ctx: typer.Context) -> Database:
    """The database without the open-time schema check, which would refuse what we fix."""
    from loopml.store.sql import open_database

    settings = state(ctx).settings()
    return open_database(settings.db_url, busy_timeout_s=settings.busy_timeout_s)


@app.command("upgrade")
def upgrade_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Migrate the metadata store to the newest schema this loopml knows."""
    from loopml.store.sql import safe_url, upgrade

    db = _database(ctx)
    try:
        before, after = upgrade(db)
    finally:
        db.dispose()
    if as_json:
        print_json({"db_url": safe_url(db.url), "from": before, "to": after})
    elif before == after:
        console.print(f"{esc(safe_url(db.url))} is already at revision {after}")
    else:
        console.print(f"[green]Upgraded[/] {esc(safe_url(db.url))}: {before or 'empty'} -> {after}")


@app.command("status")
def status_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Show the store's schema revision and the newest one this loopml knows."""
    from loopml.store.sql import safe_url, schema_state

    workspace_for(ctx, read_only=True)  # a missing home is reported, never created
    db = _database(ctx)
    try:
        current = schema_state(db)
    finally:
        db.dispose()
    data = {
        "db_url": safe_url(db.url),
        "current": current.current,
        "head": current.head,
        "up_to_date": current.up_to_date,
    }
    if as_json:
        print_json(data)
        return
    mark = "[green]up to date[/]" if current.up_to_date else "[yellow]needs `loopml db upgrade`[/]"
    console.print(
        f"{esc(data['db_url'])}: revision {current.current or 'none'} (head {current.head}) {mark}"
    )
