"""Pure rules: semantic version bumps, who may approve, and what promotion needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from loopml.entities import Actor, PromotionPolicy, PromotionRequest, RequestStatus
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


def promotion_blockers(
    policy: PromotionPolicy | None,
    request: PromotionRequest,
    gates_passed: bool | None,
) -> list[str]:
    """Every reason the request cannot be promoted now (empty: it can)."""
    reasons = []
    if not request.status.is_open:
        reasons.append(f"the request is {request.status.value}")
    if policy is None:
        return reasons
    approvals = sum(1 for d in request.decisions if d.approve and d.role == policy.approver_role)
    if any(not d.approve for d in request.decisions):
        reasons.append("the request was rejected")
    if approvals < policy.approvals:
        reasons.append(
            f"{approvals} of {policy.approvals} required approval(s) from role "
            f"{policy.approver_role!r}"
        )
    if policy.require_gates:
        if gates_passed is None:
            reasons.append("no gated evaluation of this version is recorded")
        elif not gates_passed:
            reasons.append("the latest gated evaluation of this version failed its gates")
    return reasons
