"""Who acts: the user name recorded on every change and the roles they hold."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who acts, and the roles they hold (from settings until governance adds RBAC).

    Args:
        name: The user name recorded on every change.
        roles: Role names, e.g. ``("approver",)``.
    """

    name: str
    roles: tuple[str, ...] = ()

    def has_role(self, role: str) -> bool:
        """True when the actor holds ``role`` (``admin`` holds every role)."""
        return role in self.roles or "admin" in self.roles
