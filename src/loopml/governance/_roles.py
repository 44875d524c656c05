"""Roles, the permission matrix, principals and the authorisation check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from loopml.entities import Actor, AuditEntry, Outcome
from loopml.errors import InvalidInput, NotFound, PermissionDenied
from loopml.governance._projects import DEFAULT_PROJECT

if TYPE_CHECKING:
    from loopml.ids import ObjectRef
    from loopml.store import Store

#: Every permission a role can hold, in the order the matrix lists them.
PERMISSIONS: tuple[str, ...] = (
    "runs.read",
    "runs.write",
    "data.read",
    "data.write",
    "pipelines.run",
    "models.read",
    "models.write",
    "models.request",
    "models.approve",
    "models.promote",
    "deployments.read",
    "deployments.write",
    "audit.read",
    "audit.checkpoint",
    "tokens.create",
    "users.admin",
)

_READ = frozenset({"runs.read", "data.read", "models.read", "deployments.read"})
_SCIENCE = _READ | {
    "runs.write",
    "data.write",
    "pipelines.run",
    "models.write",
    "models.request",
    "tokens.create",
}

#: The default matrix: role -> permissions (a project may override single cells).
DEFAULT_MATRIX: dict[str, frozenset[str]] = {
    "viewer": _READ,
    "scientist": _SCIENCE,
    "engineer": _SCIENCE | {"models.promote", "deployments.write"},
    "approver": _READ | {"models.approve", "models.promote", "audit.read", "tokens.create"},
    "admin": frozenset(PERMISSIONS),
}

#: The roles, least to most powerful.
ROLES: tuple[str, ...] = tuple(DEFAULT_MATRIX)


def check_role(role: str) -> str:
    """Return ``role`` if it is one of :data:`ROLES`, else InvalidInput."""
    if role not in DEFAULT_MATRIX:
        raise InvalidInput(f"unknown role {role!r}", hint=f"Roles: {', '.join(ROLES)}.")
    return role


def check_permission(permission: str) -> str:
    """Return ``permission`` if it is one of :data:`PERMISSIONS`, else InvalidInput."""
    if permission not in PERMISSIONS:
        raise InvalidInput(
            f"unknown permission {permission!r}", hint=f"Permissions: {', '.join(PERMISSIONS)}."
        )
    return permission


@dataclass(frozen=True)
class Principal:
    """Who is asking: an account and the roles it holds, per project.

    Args:
        name: The account name (recorded as the actor of everything it does).
        roles: ``(project, role)`` pairs; project ``"*"`` means every project.
        token_id: The token it authenticated with, if any.
    """

    name: str
    roles: tuple[tuple[str, str], ...] = ()
    token_id: str | None = None

    def roles_in(self, project: str | None = None) -> tuple[str, ...]:
        """The roles held in ``project`` (bindings to ``"*"`` count everywhere)."""
        return tuple(
            sorted({r for p, r in self.roles if p == "*" or (project is not None and p == project)})
        )

    def actor(self, project: str | None = None) -> Actor:
        """The registry's :class:`~loopml.entities.Actor` for this principal, so registry
        rules (the four-eyes rule on approvals) apply to it unchanged."""
        return Actor(self.name, self.roles_in(project))


def role_permissions(role: str, project: str | None = None, *, store: Store) -> frozenset[str]:
    """The permissions ``role`` holds in ``project``: the default row plus overrides."""
    allowed = set(DEFAULT_MATRIX.get(role, frozenset()))
    if project is not None:
        for cell in store.list_role_permissions(project):
            if cell.role == role:
                (allowed.add if cell.allowed else allowed.discard)(cell.permission)
    return frozenset(allowed)


def permissions_of(
    principal: Principal, project: str | None = None, *, store: Store
) -> frozenset[str]:
    """Every permission ``principal`` holds in ``project``."""
    out: set[str] = set()
    for role in principal.roles_in(project):
        out |= role_permissions(role, project, store=store)
    return frozenset(out)


def projects_with(principal: Principal, permission: str, *, store: Store) -> set[str | None]:
    """The projects (None: account-wide) where ``principal`` holds ``permission``, among
    those its grants and the matrix overrides name, plus ``default``."""
    candidates: set[str | None] = {None, DEFAULT_PROJECT}
    candidates |= {p for p, _ in principal.roles if p != "*"}
    candidates |= {
        cell.project
        for cell in store.list_role_permissions()
        if cell.allowed and cell.permission == permission
    }
    return {p for p in candidates if permission in permissions_of(principal, p, store=store)}


def principal_for(name: str, *, store: Store, token_id: str | None = None) -> Principal:
    """The principal of an account, with its role bindings (NotFound if absent)."""
    store.get_user(name)
    bindings = store.list_role_bindings(name)
    return Principal(name, tuple((b.project, b.role) for b in bindings), token_id)


def local_principal(actor: Actor, *, store: Store) -> Principal:
    """The principal of the local actor (the CLI, a script) in an embedded workspace.

    A registered account gets its bindings. Before any account holds ``admin`` (a fresh
    home) the local actor is the bootstrap admin, so the first admin can be created; an
    actor with no account otherwise holds the roles its settings name (``LOOPML_ROLES``).
    """
    try:
        return principal_for(actor.name, store=store)
    except NotFound:
        pass
    if not any(b.role == "admin" for b in store.list_role_bindings()):
        return Principal(actor.name, (("*", "admin"),))
    return Principal(actor.name, tuple(("*", r) for r in actor.roles if r in DEFAULT_MATRIX))


def authorize(
    principal: Principal,
    permission: str,
    obj: ObjectRef | str | None = None,
    *,
    project: str | None = None,
    store: Store,
) -> None:
    """Pass when ``principal`` holds ``permission``; else audit the refusal and raise.

    The check never looks ``obj`` up, so a refusal says nothing about whether it exists.

    Raises:
        PermissionDenied: naming the missing permission (HTTP 403 on the server).
    """
    check_permission(permission)
    if permission in permissions_of(principal, project, store=store):
        return
    ref = "" if obj is None else str(obj)
    kind, _, ident = ref.partition(":") if ":" in ref else ("", "", ref)
    store.append_audit(
        AuditEntry(
            actor=principal.name,
            action=permission,
            object_kind=kind or "-",
            object_id=ident or "-",
            outcome=Outcome.DENIED,
            detail={"project": project, "roles": list(principal.roles_in(project))},
        )
    )
    # The answer names neither the object's project nor the roles held there: an object
    # the caller may not touch must read the same as one that does not exist.
    held = ", ".join(principal.roles_in(None)) or "no role"
    raise PermissionDenied(
        f"{principal.name} lacks the permission {permission!r}"
        + (f" (holds {held})" if project is None else " in this object's project"),
        hint="Ask an admin for a role that grants it: `loopml roles grant USER ROLE"
        + ("`." if project is None else " --project PROJECT`."),
        permission=permission,
    )
