"""``loopml roles``: the permission matrix, and who holds which role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from loopml.cli._access import governed
from loopml.cli._helpers import console, print_json, store_for
from loopml.cli._text import esc
from loopml.errors import PermissionDenied

if TYPE_CHECKING:
    from loopml.entities import RoleBinding

app = typer.Typer(
    help="Roles: the permission matrix, grants and revocations.", no_args_is_help=True
)

_PROJECT = typer.Option("--project", help="Project scope ('*': every project).")


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option("--project", help="Apply this project's overrides.")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this account's grants.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the permission matrix (role x permission) and the grants (who holds which
    role in which project; ``*``: every project)."""
    from loopml.governance import PERMISSIONS, ROLES, role_permissions

    store = store_for(ctx, read_only=True)
    matrix = {r: sorted(role_permissions(r, project, store=store)) for r in ROLES}
    try:
        bindings: list[RoleBinding] | None = store.list_role_bindings(user)
    except PermissionDenied:  # a server: another account's grants need users.admin
        bindings = None
    grants = [b for b in bindings or () if project is None or b.project in ("*", project)]
    if as_json:
        listed = [
            {
                "user": b.user,
                "role": b.role,
                "project": b.project,
                "granted_by": b.granted_by,
                "granted_at_ms": b.granted_at_ms,
            }
            for b in grants
        ]
        print_json(
            {"project": project, "matrix": matrix, "grants": None if bindings is None else listed}
        )
        return
    table = Table("permission", *ROLES)
    for perm in PERMISSIONS:
        table.add_row(perm, *("yes" if perm in matrix[r] else "" for r in ROLES))
    console.print(table)
    held = Table("user", "role", "project", "granted by")
    for b in grants:
        held.add_row(esc(b.user), esc(b.role), esc(b.project), esc(b.granted_by))
    if bindings is None:
        console.print("Grants: reading every account's needs users.admin (try --user NAME).")
    else:
        console.print(held if grants else "No grants.")


@app.command("show")
def show(
    ctx: typer.Context,
    role: Annotated[str, typer.Argument(help="Role name.")],
    project: Annotated[
        str | None, typer.Option("--project", help="Apply this project's overrides.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a role's permissions and who holds it."""
    from loopml.governance import check_role, role_permissions

    check_role(role)
    store = store_for(ctx, read_only=True)
    perms = sorted(role_permissions(role, project, store=store))
    holders = [f"{b.user}@{b.project}" for b in store.list_role_bindings() if b.role == role]
    if as_json:
        print_json({"role": role, "permissions": perms, "holders": holders})
        return
    console.print(f"[bold]{esc(role)}[/]: {esc(', '.join(perms))}")
    console.print(f"held by: {esc(', '.join(holders) or 'nobody')}")


@app.command("grant")
def grant(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="Account name.")],
    role: Annotated[str, typer.Argument(help="Role name.")],
    project: Annotated[str, _PROJECT] = "*",
) -> None:
    """Grant a role to an account (needs users.admin)."""
    from loopml.governance import check_role

    check_role(role)
    with governed(ctx, "users.admin", project=project) as (store, who):
        store.grant_role(user, role, actor=who.name, project=project)
    console.print(f"Granted {esc(role)} to {esc(user)} in {esc(project)}")


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="Account name.")],
    role: Annotated[str, typer.Argument(help="Role name.")],
    project: Annotated[str, _PROJECT] = "*",
) -> None:
    """Revoke a role from an account (needs users.admin)."""
    with governed(ctx, "users.admin", project=project) as (store, who):
        store.revoke_role(user, role, actor=who.name, project=project)
    console.print(f"Revoked {esc(role)} from {esc(user)} in {esc(project)}")


@app.command("set")
def set_cmd(
    ctx: typer.Context,
    role: Annotated[str, typer.Argument(help="Role name.")],
    permission: Annotated[str, typer.Argument(help="Permission, e.g. models.approve.")],
    project: Annotated[str, typer.Option("--project", help="The project to override.")],
    allow: Annotated[bool | None, typer.Option("--allow/--deny", help="Grant or withhold.")] = None,
) -> None:
    """Override one cell of the matrix in a project (neither flag: back to the default)."""
    from loopml.governance import check_permission, check_role

    check_role(role)
    check_permission(permission)
    with governed(ctx, "users.admin", project=project) as (store, who):
        store.set_role_permission(project, role, permission, allow, actor=who.name)
    state = "default" if allow is None else ("allowed" if allow else "denied")
    console.print(f"{esc(role)} {esc(permission)} in {esc(project)}: {state}")
