"""What the governance command groups share: the local principal and its check."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from loopml.cli._helpers import workspace_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    import typer

    from loopml.governance import Principal
    from loopml.store import Store


@contextmanager
def governed(
    ctx: typer.Context, permission: str, *, read_only: bool = False, project: str | None = None
) -> Iterator[tuple[Store, Principal]]:
    """The store and the local principal, once it holds ``permission`` (in ``project``:
    None or ``*`` for every project); entries appended inside come "from" the CLI."""
    from loopml.governance import Principal, authorize, local_principal
    from loopml.store import audit_source

    workspace = workspace_for(ctx, read_only=read_only)
    store = workspace.store
    with audit_source("cli"):
        whoami = getattr(store, "whoami", None)  # a RestStore: the token's account
        if callable(whoami):
            me = whoami()
            principal = Principal(me["name"], tuple((p, r) for p, r in me["roles"]))
        else:
            principal = local_principal(workspace.actor, store=store)
        scope = None if project in (None, "*") else project
        authorize(principal, permission, project=scope, store=store)
        yield store, principal
