"""Promotion policies, promotion requests and the decisions of reviewers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RequestStatus(StrEnum):
    """Lifecycle of a promotion request; PENDING and APPROVED are the open states."""

    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    PROMOTED = "PROMOTED"
    CANCELLED = "CANCELLED"

    @property
    def is_open(self) -> bool:
        """True while the request can still be decided or promoted."""
        return self in (RequestStatus.PENDING, RequestStatus.APPROVED)


@dataclass(frozen=True)
class PromotionPolicy:
    """What moving ``alias`` of a model to a version requires.

    Args:
        alias: The guarded alias (e.g. ``"champion"``).
        require_gates: The version's latest evaluation must have passed its gates.
        approvals: How many approvals are needed.
        approver_role: The role an approver must hold.
        allow_author: Whether the requester may approve their own request.
    """

    alias: str
    require_gates: bool = True
    approvals: int = 1
    approver_role: str = "approver"
    allow_author: bool = False


@dataclass(frozen=True)
class Decision:
    """One reviewer's verdict on a request."""

    actor: str
    role: str
    approve: bool
    comment: str
    at_ms: int


@dataclass(frozen=True)
class PromotionRequest:
    """A request to move ``alias`` to version ``version`` of ``model_name``."""

    id: str
    model_name: str
    version: int
    alias: str
    status: RequestStatus
    requested_by: str
    created_at_ms: int
    comment: str = ""
    decided_at_ms: int | None = None
    decisions: tuple[Decision, ...] = ()
