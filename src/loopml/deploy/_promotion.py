"""Promotion and rollback of a deployment, through the registry's promotion rules."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from loopml import registry
from loopml.deploy._service import LIVE, STABLE, change
from loopml.entities import (
    Arm,
    Deployment,
    DeploymentEventKind,
    DeploymentStatus,
    RequestStatus,
)
from loopml.errors import InvalidInput, PermissionDenied
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    from loopml.workspace import Workspace

AWAITING_APPROVAL = "awaiting approval"


def _open_request(dep: Deployment, version: int, ws: Workspace) -> str:
    """The open promotion request for the candidate, made now if there is none."""
    for request in registry.list_requests(dep.arms[0].model, store=ws.store):
        if (
            request.alias == dep.alias
            and request.version == version
            and request.status in (RequestStatus.PENDING, RequestStatus.APPROVED)
        ):
            return request.id
    return registry.request_promotion(
        dep.arms[0].model,
        version,
        dep.alias,
        comment=f"deployment {dep.name}",
        store=ws.store,
        actor=ws.actor,
    ).id


def _move_alias(dep: Deployment, version: int, reason: str, ws: Workspace) -> str | None:
    """Move the deployment's alias to ``version``; the request id still awaiting approval."""
    model = dep.arms[0].model
    if registry.get_promotion_policy(model, dep.alias, store=ws.store) is None:
        registry.set_alias(model, dep.alias, version, reason=reason, store=ws.store, actor=ws.actor)
        return None
    request_id = _open_request(dep, version, ws)
    try:
        registry.promote(request_id, reason=reason, store=ws.store, actor=ws.actor)
    except PermissionDenied as exc:
        blockers = exc.fields.get("blockers") or []
        if blockers and all(isinstance(b, registry.ApprovalsMissing) for b in blockers):
            return request_id
        raise
    return None


def promote(
    name: str,
    *,
    reason: str = "",
    revision: int | None = None,
    workspace: Workspace | None = None,
) -> Deployment:
    """Give the candidate all traffic, make it the stable arm and move the registry alias.

    The alias (``fraud@champion`` when the deployment was created from it) moves through
    the registry's rules. When the alias is guarded and approvals are missing, the
    deployment is paused with the reason ``awaiting approval`` and the open promotion
    request's id in the event; promote again once it is approved.

    Raises:
        InvalidInput: No candidate, or the deployment was rolled back or completed.
        GateFailed: The candidate's gates are red or were never run.
        Conflict: ``revision`` is not the stored one.
    """
    ws = workspace or current_workspace()
    dep = ws.store.get_deployment(name)
    if len(dep.arms) < 2:
        raise InvalidInput(
            f"deployment {name!r} has no candidate to promote",
            hint="Create it with --candidate NAME/VERSION.",
        )
    candidate = dep.arms[1]
    why = reason or f"deployment {name}: promote {candidate.model}/{candidate.version}"
    if dep.alias and dep.status in LIVE:
        waiting = _move_alias(dep, candidate.version, why, ws)
        if waiting is not None:
            if dep.status is DeploymentStatus.PAUSED and dep.reason == AWAITING_APPROVAL:
                return dep
            return change(
                name, DeploymentEventKind.PAUSE,
                lambda d: replace(d, status=DeploymentStatus.PAUSED, reason=AWAITING_APPROVAL),
                allowed=LIVE, reason=AWAITING_APPROVAL, revision=revision, workspace=ws,
                detail={"request": waiting, "alias": dep.alias, "version": candidate.version},
            )  # fmt: skip
    previous = [a.to_dict() for a in dep.arms]

    def make(current: Deployment) -> Deployment:
        arms = (
            Arm(STABLE, candidate.model, candidate.version, 100),
            replace(current.arms[0], name="previous", weight=0),
        )
        return replace(
            current, arms=arms, status=DeploymentStatus.COMPLETED, step=len(current.steps) - 1,
            reason="",
        )  # fmt: skip

    detail: dict[str, Any] = {"previous_arms": previous, "alias": dep.alias}
    return change(
        name, DeploymentEventKind.PROMOTION, make, allowed=LIVE, reason=why, revision=revision,
        workspace=ws, detail=detail,
    )  # fmt: skip


def rollback(
    name: str,
    *,
    reason: str = "",
    revision: int | None = None,
    workspace: Workspace | None = None,
) -> Deployment:
    """Restore the stable state in one step, recording why.

    During a rollout the stable arm gets 100 % and every other arm 0 %. After a
    promotion the arms from before it come back and the registry alias moves back
    through :func:`loopml.registry.rollback` (a guarded alias needs the approver role).

    Raises:
        InvalidInput: The deployment was rolled back already.
        Conflict: ``revision`` is not the stored one.
    """
    ws = workspace or current_workspace()
    dep = ws.store.get_deployment(name)
    why = reason or f"rolled back by {ws.actor.name}"
    if dep.status is DeploymentStatus.COMPLETED:
        promotion = next(
            e for e in reversed(ws.store.deployment_events(name))
            if e.kind is DeploymentEventKind.PROMOTION
        )  # fmt: skip
        arms = tuple(Arm.from_dict(a) for a in promotion.detail["previous_arms"])
        if dep.alias:
            registry.rollback(
                dep.arms[0].model, dep.alias, reason=why, store=ws.store, actor=ws.actor
            )
    else:
        arms = dep.arms
    restored = tuple(replace(a, weight=100 if a.name == STABLE else 0) for a in arms)
    return change(
        name, DeploymentEventKind.ROLLBACK,
        lambda d: replace(d, arms=restored, status=DeploymentStatus.ROLLED_BACK, reason=why),
        allowed=(*LIVE, DeploymentStatus.PROMOTING, DeploymentStatus.COMPLETED), reason=why,
        revision=revision, workspace=ws,
    )  # fmt: skip
