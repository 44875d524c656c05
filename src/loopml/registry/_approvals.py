"""Promotion requests, approvals and promotion: the gate and the approval are part of
moving an alias, not a convention around it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml.entities import Actor, PromotionPolicy, RequestStatus
from loopml.errors import InvalidInput, NotFound, PermissionDenied
from loopml.registry._policies import (
    approval_refusal,
    decision_status,
    promotion_blockers,
    refusal_error,
)
from loopml.workspace import resolve_actor, resolve_store

if TYPE_CHECKING:
    from loopml.entities import AliasMove, PromotionRequest
    from loopml.store import Store


def set_promotion_policy(
    name: str,
    alias: str,
    *,
    require_gates: bool = True,
    approvals: int = 1,
    approver_role: str = "approver",
    allow_author: bool = False,
    store: Store | None = None,
    actor: Actor | str | None = None,
) -> PromotionPolicy:
    """Guard ``alias`` of a model: moving it then needs a request, approvals and green gates.

    Args:
        name: Registered model name.
        alias: The alias to guard (e.g. ``"champion"``).
        require_gates: The version's latest gated evaluation must have passed.
        approvals: Approvals needed from ``approver_role``.
        approver_role: Role an approver must hold.
        allow_author: Whether the requester may approve their own request.
        store: Metadata store.
        actor: Who sets the policy.

    Returns:
        The stored policy.
    """
    policy = PromotionPolicy(alias, require_gates, approvals, approver_role, allow_author)
    resolve_store(store).set_promotion_policy(name, policy, actor=resolve_actor(actor).name)
    return policy


def get_promotion_policy(
    name: str, alias: str, *, store: Store | None = None
) -> PromotionPolicy | None:
    """The policy guarding ``alias`` of a model, or None."""
    for policy in resolve_store(store).get_promotion_policies(name):
        if policy.alias == alias:
            return policy
    return None


def request_promotion(
    name: str,
    version: int,
    alias: str,
    *,
    comment: str = "",
    store: Store | None = None,
    actor: Actor | str | None = None,
) -> PromotionRequest:
    """Ask for ``alias`` to move to ``version``; reviewers then approve or reject it."""
    return resolve_store(store).create_promotion_request(
        name, version, alias, actor=resolve_actor(actor).name, comment=comment
    )


def list_requests(
    name: str, *, status: RequestStatus | None = None, store: Store | None = None
) -> list[PromotionRequest]:
    """Promotion requests of a model, newest first."""
    return resolve_store(store).list_promotion_requests(name, status=status)


def _decide(
    request_id: str, approve: bool, comment: str, store: Store | None, actor: Actor | str | None
) -> PromotionRequest:
    db = resolve_store(store)
    who = resolve_actor(actor)
    request = db.get_promotion_request(request_id)
    policy = get_promotion_policy(request.model_name, request.alias, store=db)
    refusal = approval_refusal(policy, request, who)
    if refusal is not None:
        raise PermissionDenied(
            f"cannot {'approve' if approve else 'reject'} request {request_id}: {refusal}",
            hint="Another user holding the role must decide it (set LOOPML_USER/LOOPML_ROLES "
            "until governance adds accounts).",
            request=request_id,
        )
    role = "approver" if policy is None else policy.approver_role
    approvals = sum(1 for d in request.decisions if d.approve) + int(approve)
    status = decision_status(policy, request, approve, approvals)
    return db.add_decision(
        request_id, actor=who.name, role=role, approve=approve, comment=comment, status=status
    )


def approve(
    request_id: str,
    *,
    comment: str = "",
    store: Store | None = None,
    actor: Actor | str | None = None,
) -> PromotionRequest:
    """Approve a request (the approver needs the policy's role and, by default, must not
    be its author).

    Raises:
        PermissionDenied: The actor lacks the role or is the author.
        Conflict: The request is closed or the actor decided it already.
    """
    return _decide(request_id, True, comment, store, actor)


def reject(
    request_id: str,
    *,
    comment: str = "",
    store: Store | None = None,
    actor: Actor | str | None = None,
) -> PromotionRequest:
    """Reject a request, with a comment saying why; it is closed."""
    if not comment:
        raise InvalidInput("a rejection needs a comment", hint="Say why, with --comment.")
    return _decide(request_id, False, comment, store, actor)


def gates_status(name: str, version: int, *, store: Store | None = None) -> bool | None:
    """Whether the latest gated evaluation of a version passed (None: none recorded)."""
    for evaluation in resolve_store(store).list_evaluations(name, version):
        if evaluation.passed is not None:
            return evaluation.passed
    return None


def promote(
    request_id: str,
    *,
    reason: str = "",
    store: Store | None = None,
    actor: Actor | str | None = None,
) -> AliasMove:
    """Move the alias as the request asks, if the policy is satisfied; refuse with reasons.

    Raises:
        GateFailed: The gates are red or no gated evaluation exists (and approvals, if
            missing, are listed too).
        PermissionDenied: Approvals are missing or the request was rejected/closed.
    """
    db = resolve_store(store)
    who = resolve_actor(actor)
    request = db.get_promotion_request(request_id)
    policy = get_promotion_policy(request.model_name, request.alias, store=db)
    passed = gates_status(request.model_name, request.version, store=db)
    blockers = promotion_blockers(policy, request, passed)
    if blockers:
        target = f"{request.model_name}@{request.alias} -> version {request.version}"
        reasons = [b.message for b in blockers]
        raise refusal_error(blockers)(
            f"promotion of {target} refused: {'; '.join(reasons)}",
            hint="Evaluate the version with its gates and get the approvals the policy needs.",
            reasons=reasons,
            blockers=blockers,
        )
    if request.status is RequestStatus.PENDING:
        # Nothing more is required (no policy, or zero approvals): promoting approves it.
        db.add_decision(
            request_id,
            actor=who.name,
            role="promoter",
            approve=True,
            comment=reason,
            status=RequestStatus.APPROVED,
        )
    return db.set_alias(
        request.model_name,
        request.alias,
        request.version,
        actor=who.name,
        reason=reason or f"promotion request {request_id}",
        request_id=request_id,
    )


def rollback(
    name: str,
    alias: str,
    *,
    reason: str = "",
    store: Store | None = None,
    actor: Actor | str | None = None,
) -> AliasMove:
    """Move ``alias`` back to the version that held it before the current one.

    On a guarded alias the actor needs the policy's approver role.

    Raises:
        NotFound: The alias has no earlier holder.
        PermissionDenied: The actor may not move a guarded alias.
    """
    db = resolve_store(store)
    who = resolve_actor(actor)
    policy = get_promotion_policy(name, alias, store=db)
    if policy is not None and not who.has_role(policy.approver_role):
        raise PermissionDenied(
            f"{who.name} may not roll back the guarded alias {name}@{alias}",
            hint=f"A user with the role {policy.approver_role!r} must do it.",
        )
    current = db.get_alias(name, alias).number
    previous = None
    for move in reversed(db.alias_history(name, alias)):
        if move.to_version == current and move.from_version not in (None, current):
            previous = move.from_version
            break
    if previous is None:
        raise NotFound(
            "previous holder of alias",
            f"{name}@{alias}",
            hint="The alias never pointed at another version; set it explicitly instead.",
        )
    return db.set_alias(name, alias, previous, actor=who.name, reason=reason or "rollback")
