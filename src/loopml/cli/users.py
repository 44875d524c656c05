"""``loopml users``: accounts (people and service accounts)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from loopml.cli._access import governed
from loopml.cli._helpers import console, print_json
from loopml.cli._text import esc

app = typer.Typer(help="Accounts: people and service accounts.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Account name.")],
    service: Annotated[bool, typer.Option("--service", help="A service account.")] = False,
    display_name: Annotated[str, typer.Option("--display-name", help="Full name.")] = "",
    role: Annotated[
        list[str] | None, typer.Option("--role", help="Grant this role in every project.")
    ] = None,
) -> None:
    """Add an account (needs users.admin)."""
    from loopml.governance import check_role

    roles = [check_role(r) for r in role or []]
    with governed(ctx, "users.admin") as (store, who):
        user = store.create_user(
            name, actor=who.name, kind="service" if service else "user", display_name=display_name
        )
        for r in roles:
            store.grant_role(name, r, actor=who.name)
    console.print(
        f"Added {user.kind} [bold]{esc(name)}[/]" + (f" ({', '.join(roles)})" if roles else "")
    )


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List accounts with their roles."""
    from loopml.cli._helpers import store_for

    store = store_for(ctx, read_only=True)
    bindings = store.list_role_bindings()
    rows: list[dict[str, Any]] = [
        {
            "name": u.name,
            "kind": str(u.kind),
            "disabled": u.disabled,
            "roles": [f"{b.role}@{b.project}" for b in bindings if b.user == u.name],
        }
        for u in store.list_users()
    ]
    if as_json:
        print_json(rows)
        return
    table = Table("name", "kind", "roles", "disabled")
    for row in rows:
        table.add_row(
            esc(row["name"]), row["kind"], esc(", ".join(row["roles"])), str(row["disabled"])
        )
    console.print(table)


@app.command("disable")
def disable(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Account name.")],
    enable: Annotated[bool, typer.Option("--enable", help="Enable it again instead.")] = False,
) -> None:
    """Disable an account: its tokens stop working (needs users.admin)."""
    with governed(ctx, "users.admin") as (store, who):
        store.set_user_disabled(name, not enable, actor=who.name)
    console.print(f"{'Enabled' if enable else 'Disabled'} [bold]{esc(name)}[/]")
