"""``loopml tokens``: API tokens, shown once, stored hashed, expiring and revocable."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from loopml.cli._access import governed
from loopml.cli._helpers import console, print_json
from loopml.cli._text import esc

app = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="The account the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="A label for the token.")] = "",
    expires_in: Annotated[
        int | None,
        typer.Option("--expires-in", min=1, help="Lifetime in seconds (default: none)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a token; the secret is printed this once and never stored."""
    from loopml.governance import create_token

    with governed(ctx, "users.admin") as (store, who):
        secret, token = create_token(
            user, name=name, expires_in_s=expires_in, actor=who.name, store=store
        )
    if as_json:
        print_json(
            {
                "token_id": token.token_id,
                "user": user,
                "token": secret,
                "expires_at_ms": token.expires_at_ms,
            }
        )
        return
    console.print(f"Token {token.token_id} for {esc(user)} (shown once; keep it safe):")
    console.print(secret, markup=False, soft_wrap=True)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", help="Only this account's.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List tokens (never their secrets)."""
    from loopml.cli._helpers import store_for

    rows: list[dict[str, Any]] = [
        {
            "token_id": t.token_id,
            "user": t.user,
            "name": t.name,
            "created_at_ms": t.created_at_ms,
            "expires_at_ms": t.expires_at_ms,
            "revoked_at_ms": t.revoked_at_ms,
        }
        for t in store_for(ctx, read_only=True).list_tokens(user)
    ]
    if as_json:
        print_json(rows)
        return
    table = Table("token", "user", "name", "expires", "revoked")
    for r in rows:
        table.add_row(
            r["token_id"],
            esc(r["user"]),
            esc(r["name"]),
            str(r["expires_at_ms"] or "never"),
            "yes" if r["revoked_at_ms"] else "",
        )
    console.print(table)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="The token id (from `tokens list`).")],
) -> None:
    """Revoke a token for good (needs users.admin)."""
    with governed(ctx, "users.admin") as (store, who):
        store.revoke_token(token_id, actor=who.name)
    console.print(f"Revoked token {esc(token_id)}")
