"""Pure rules: semantic version bumps, who may approve, and what promotion needs.

What stops a promotion is a typed :class:`Blocker` (an approval or a gate blocker), and its
type, not its text, chooses the exception the refusal raises."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from loopml.entities import Actor, PromotionPolicy, PromotionRequest, RequestStatus
from loopml.errors import GateFailed, LoopmlError, PermissionDenied
from loopml.ids import SemVer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loopml.entities import ModelVersion


@dataclass(frozen=True)
class VersionFacts:
    """What decides the semantic version bump of a new version."""

    signature_digest: str | None
    model_class: str
    payload_digest: str


def bump_for(previous: VersionFacts | None, new: VersionFacts) -> str | None:
    """Which part to bump: ``major`` (signature or class changed), ``minor`` (retrained:
    other model bytes), ``patch`` (same model bytes, metadata only); None for the first."""
    if previous is None:
        return None
    if previous.signature_digest != new.signature_digest or previous.model_class != new.model_class:
        return "major"
    if previous.payload_digest != new.payload_digest:
        return "minor"
    return "patch"


def next_semver(versions: Sequence[ModelVersion], new: VersionFacts) -> SemVer:
    """The next semantic version: bumped from the highest one, by comparing with the latest."""
    if not versions:
        return SemVer(1, 0, 0)
    latest = max(versions, key=lambda v: v.number)
    highest = max(SemVer.parse(v.semver) for v in versions)
    part = bump_for(
        VersionFacts(latest.signature_digest, latest.model_class, latest.payload_digest), new
    )
    return highest.bump(part or "patch")


def decision_status(
    policy: PromotionPolicy | None, request: PromotionRequest, approve: bool, approvals_after: int
) -> RequestStatus:
    """The request's status after a verdict: any rejection closes it; enough approvals
    make it APPROVED."""
    if not approve:
        return RequestStatus.REJECTED
    needed = 1 if policy is None else policy.approvals
    return RequestStatus.APPROVED if approvals_after >= needed else RequestStatus.PENDING


def approval_refusal(
    policy: PromotionPolicy | None, request: PromotionRequest, actor: Actor
) -> str | None:
    """Why ``actor`` may not decide ``request`` (None when they may)."""
    role = "approver" if policy is None else policy.approver_role
    allow_author = False if policy is None else policy.allow_author
    if not actor.has_role(role):
        return f"{actor.name} does not hold the role {role!r} this alias requires to approve"
    if request.requested_by == actor.name and not allow_author:
        return f"{actor.name} requested this promotion and may not approve it (not the author)"
    return None


@dataclass(frozen=True)
class Blocker(ABC):
    """One reason a promotion cannot happen now; ``error`` is the exception it raises."""

    error: ClassVar[type[LoopmlError]]

    @property
    @abstractmethod
    def message(self) -> str:
        """The reason, as a clause of the refusal message."""

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ApprovalBlocker(Blocker):
    """The request's state or its approvals stop the promotion (``PermissionDenied``)."""

    error: ClassVar[type[LoopmlError]] = PermissionDenied


@dataclass(frozen=True)
class RequestClosed(ApprovalBlocker):
    """The request is no longer open (promoted, rejected...)."""

    status: RequestStatus

    @property
    def message(self) -> str:
        return f"the request is {self.status.value}"


@dataclass(frozen=True)
class RequestRejected(ApprovalBlocker):
    """An approver rejected the request."""

    @property
    def message(self) -> str:
        return "the request was rejected"


@dataclass(frozen=True)
class ApprovalsMissing(ApprovalBlocker):
    """Fewer approvals than the policy needs, from its approver role."""

    approvals: int
    required: int
    role: str

    @property
    def message(self) -> str:
        return f"{self.approvals} of {self.required} required approval(s) from role {self.role!r}"


@dataclass(frozen=True)
class GateBlocker(Blocker):
    """The version's gates stop the promotion (``GateFailed``, exit 1)."""

    error: ClassVar[type[LoopmlError]] = GateFailed


@dataclass(frozen=True)
class GatesNotRun(GateBlocker):
    """The policy requires gates and no gated evaluation of the version is recorded."""

    @property
    def message(self) -> str:
        return "no gated evaluation of this version is recorded"


@dataclass(frozen=True)
class GatesRed(GateBlocker):
    """The version's latest gated evaluation failed its gates."""

    @property
    def message(self) -> str:
        return "the latest gated evaluation of this version failed its gates"


def refusal_error(blockers: Sequence[Blocker]) -> type[LoopmlError]:
    """The exception a promotion stopped by ``blockers`` raises: ``GateFailed`` when a gate
    blocks it (the fix is an evaluation), else ``PermissionDenied``."""
    if any(isinstance(b, GateBlocker) for b in blockers):
        return GateBlocker.error
    return ApprovalBlocker.error


def promotion_blockers(
    policy: PromotionPolicy | None,
    request: PromotionRequest,
    gates_passed: bool | None,
) -> list[Blocker]:
    """Every reason the request cannot be promoted now (empty: it can)."""
    blockers: list[Blocker] = []
    if not request.status.is_open:
        blockers.append(RequestClosed(request.status))
    if policy is None:
        return blockers
    approvals = sum(1 for d in request.decisions if d.approve and d.role == policy.approver_role)
    if any(not d.approve for d in request.decisions):
        blockers.append(RequestRejected())
    if approvals < policy.approvals:
        blockers.append(ApprovalsMissing(approvals, policy.approvals, policy.approver_role))
    if policy.require_gates:
        if gates_passed is None:
            blockers.append(GatesNotRun())
        elif not gates_passed:
            blockers.append(GatesRed())
    return blockers
