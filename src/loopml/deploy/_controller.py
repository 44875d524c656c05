"""The rollout controller: one tick reads the log, judges the step and acts.

Everything a controller knows is in the store: the deployment (its step, status and
revision) and its events. A measurement is an ``analysis`` event naming its window
``[since_ms, until_ms)``; the current step's measurements are those after its last
``step`` (or ``resume``) event. So a controller killed at any point is replaced by
another that reads the same state and goes on: a step is taken by a compare-and-set on
the revision it read, never twice. A lease (``deploy:NAME`` in the store) keeps two
controllers from acting on one deployment at once.

A tick, by status:

- active canary/blue-green before its first step: ``deploy.started`` webhook, first step;
- active, a measurement window complete: judge it (:func:`judge_interval`), store it,
  then :func:`next_action`: advance, roll back (the failing metric, value and bound in
  the reason), pause (Inconclusive, notified), promote at the last step;
- active A/B: one look of the sequential test per ``interval_s`` (see ``_ab``);
- paused ``awaiting approval``: promote again (it completes once the approval is given);
- otherwise nothing (paused by a person or by the analysis, completed, rolled back).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from loopml import lineage
from loopml.deploy._ab import CONTINUE, KEEP, PROMOTE, SRM, ab_look, result_from_dict
from loopml.deploy._analysis import (
    AbSpec,
    Action,
    AnalysisOutcome,
    AnalysisSpec,
    Verdict,
    judge_interval,
    load_analysis,
    next_action,
)
from loopml.deploy._promotion import AWAITING_APPROVAL, promote, rollback
from loopml.deploy._samples import arm_samples, read_window
from loopml.deploy._service import advance, pause
from loopml.entities import (
    Deployment,
    DeploymentEvent,
    DeploymentEventKind,
    DeploymentStatus,
    DeploymentStrategy,
    Relation,
)
from loopml.errors import Conflict
from loopml.ids import ObjectKind, ObjectRef
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    from loopml.workspace import Workspace

LEASE_TTL_S = 30.0
"""How long a controller's lease on a deployment lasts without renewal."""
FINAL = (DeploymentStatus.COMPLETED, DeploymentStatus.ROLLED_BACK)
_OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
_NO_SPEC = AnalysisSpec(metrics=())


@dataclass(frozen=True)
class Tick:
    """What one controller tick did.

    Attributes:
        deployment: The deployment's name.
        action: ``advance``, ``rollback``, ``pause``, ``promote``, ``wait`` or ``measure``
            (a measurement stored, the step goes on).
        status: The deployment's status after the tick.
        step: Its step index after the tick.
        reason: Why.
        outcome: The measurement judged in this tick (canary) or the A/B look, if any.
        done: True once the deployment is completed or rolled back.
    """

    deployment: str
    action: str
    status: str
    step: int
    reason: str = ""
    outcome: dict[str, Any] | None = None
    done: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "deployment": self.deployment,
            "action": self.action,
            "status": self.status,
            "step": self.step,
            "reason": self.reason,
            "outcome": self.outcome,
            "done": self.done,
        }


@dataclass
class _Ctx:
    ws: Workspace
    dep: Deployment
    spec: AnalysisSpec
    now_ms: int
    events: list[DeploymentEvent] = field(default_factory=list)


def _ms(now: float | datetime | None) -> int:
    if now is None:
        return int(time.time() * 1000)
    if isinstance(now, datetime):
        return int(now.timestamp() * 1000)
    return int(float(now) * 1000)


def _spec(dep: Deployment) -> AnalysisSpec:
    return (
        load_analysis(dep.analysis, source=f"deployment {dep.name}") if dep.analysis else _NO_SPEC
    )


def _tick(ctx: _Ctx, action: str, reason: str = "", outcome: Any = None) -> Tick:
    dep = ctx.ws.store.get_deployment(ctx.dep.name)
    return Tick(dep.name, action, dep.status.value, dep.step, reason, outcome, dep.status in FINAL)


def notify(
    ws: Workspace, dep: Deployment, spec: AnalysisSpec, event: str, payload: dict[str, Any]
) -> list[dict[str, Any]]:
    """Send ``event`` to the spec's webhooks that want it; record the deliveries.

    The secret comes from each target's environment variable at send time; a missing
    variable is a failed delivery (nothing is sent unsigned to a target that wants a
    signature). Deliveries go into a ``webhook`` event of the deployment.
    """
    from loopml.webhooks import send_webhook

    targets = [t for t in spec.webhooks if event in t.events]
    if not targets:
        return []
    body = {"event": event, "deployment": dep.to_dict(), **payload}
    deliveries: list[dict[str, Any]] = []
    for target in targets:
        secret = os.environ.get(target.secret_env) if target.secret_env else None
        if target.secret_env and not secret:
            deliveries.append(
                {"url": target.url, "event": event, "ok": False, "status": 0, "attempts": 0,
                 "error": f"environment variable {target.secret_env} is not set"}
            )  # fmt: skip
            continue
        deliveries.append(send_webhook(target.url, event, body, secret=secret).to_dict())
    for _ in range(3):
        current = ws.store.get_deployment(dep.name)
        try:
            ws.store.update_deployment(
                current, actor=ws.actor.name, kind=DeploymentEventKind.WEBHOOK,
                reason=f"{event}: {sum(d['ok'] for d in deliveries)}/{len(deliveries)} "
                "delivered", detail={"event": event, "deliveries": deliveries},
            )  # fmt: skip
            break
        except Conflict:
            continue
    return deliveries


def _step_start(events: list[DeploymentEvent]) -> tuple[int, list[DeploymentEvent]]:
    """When the current step began and its measurements since (oldest first)."""
    starts = (DeploymentEventKind.STEP, DeploymentEventKind.RESUME, DeploymentEventKind.CREATED)
    index = max((i for i, e in enumerate(events) if e.kind in starts), default=0)
    began = events[index].at_ms if events else 0
    measured = [
        e for e in events[index + 1 :]
        if e.kind is DeploymentEventKind.ANALYSIS and e.detail.get("kind") == "canary"
    ]  # fmt: skip
    return began, measured


def _outcome(event: DeploymentEvent) -> AnalysisOutcome:
    data = event.detail["outcome"]
    return AnalysisOutcome(Verdict(data["verdict"]), tuple(data["reasons"]))


def _record(ctx: _Ctx, detail: dict[str, Any], reason: str) -> Deployment:
    """Store a measurement on the revision read (Conflict if the deployment moved)."""
    ctx.dep = ctx.ws.store.update_deployment(
        ctx.dep, actor=ctx.ws.actor.name, kind=DeploymentEventKind.ANALYSIS, reason=reason,
        detail=detail,
    )  # fmt: skip
    return ctx.dep


def _lineage_step(ctx: _Ctx, dep: Deployment) -> None:
    if len(dep.arms) < 2:
        return
    arm = dep.arms[1]
    version = ctx.ws.store.get_model_version(arm.model, arm.version)
    lineage.record(
        [
            lineage.edge(
                ObjectRef(ObjectKind.MODEL_VERSION, version.id),
                ObjectRef(ObjectKind.DEPLOYMENT, dep.name),
                Relation.DEPLOYED,
            )
        ],
        store=ctx.ws.store,
    )


def _act(ctx: _Ctx, action: Action | str, reason: str, outcome: Any) -> Tick:
    ws, name, dep = ctx.ws, ctx.dep.name, ctx.dep
    payload = {"reason": reason, "outcome": outcome}
    if action is Action.ROLLBACK:
        done = rollback(name, reason=reason, revision=dep.revision, workspace=ws)
        notify(ws, done, ctx.spec, "deploy.rollback", payload)
        return _tick(ctx, "rollback", reason, outcome)
    if action is Action.PAUSE:
        done = pause(name, reason=reason, revision=dep.revision, workspace=ws)
        notify(ws, done, ctx.spec, "deploy.pause", payload)
        return _tick(ctx, "pause", reason, outcome)
    if action is Action.PROMOTE:
        done = promote(name, reason=reason, revision=dep.revision, workspace=ws)
        if done.status is DeploymentStatus.COMPLETED:
            notify(ws, done, ctx.spec, "deploy.promotion", payload)
            return _tick(ctx, "promote", reason, outcome)
        if done.revision != dep.revision:  # newly paused awaiting approval
            notify(ws, done, ctx.spec, "deploy.pause", {**payload, "reason": done.reason})
        return _tick(ctx, "pause", done.reason, outcome)
    if action is Action.ADVANCE:
        if dep.step < 0:
            notify(ws, dep, ctx.spec, "deploy.started", payload)
            dep = ws.store.get_deployment(name)
        done = advance(name, reason=reason, revision=dep.revision, workspace=ws)
        _lineage_step(ctx, done)
        notify(ws, done, ctx.spec, "deploy.step", {**payload, "percent": done.steps[done.step]})
        return _tick(ctx, "advance", reason, outcome)
    return _tick(ctx, str(action), reason, outcome)


def _canary(ctx: _Ctx) -> Tick:
    dep, spec = ctx.dep, ctx.spec
    if dep.step < 0:
        return _act(ctx, Action.ADVANCE, "rollout started", None)
    began, measured = _step_start(ctx.events)
    since = int(measured[-1].detail["until_ms"]) if measured else began
    until = since + int(spec.interval_s * 1000)
    if ctx.now_ms < until:
        return _tick(ctx, "wait", f"measurement {len(measured) + 1} ends at {until} ms")
    canary = dep.arms[1].name
    if spec.metrics:
        samples = arm_samples(read_window(ctx.ws, dep.name, since, until), spec)
        samples.setdefault(canary, {})
        samples = {a: s for a, s in samples.items() if a in (spec.stable, canary)}
        outcome = judge_interval(spec, samples, canary=canary)
    else:
        outcome = AnalysisOutcome(Verdict.SUCCESSFUL, ("no analysis spec: interval elapsed",))
    detail = {
        "kind": "canary", "step": dep.step, "measurement": len(measured) + 1,
        "since_ms": since, "until_ms": until, "outcome": outcome.to_dict(),
    }  # fmt: skip
    _record(ctx, detail, f"step {dep.step + 1}: {outcome.verdict.value}")
    outcomes = [*(_outcome(e) for e in measured), outcome]
    action = next_action(ctx.dep, outcomes, spec)
    reason = "; ".join(outcome.reasons)
    if action is Action.WAIT:
        return _tick(ctx, "measure", reason, outcome.to_dict())
    if action is Action.ROLLBACK:
        reason = f"automatic rollback at step {dep.step + 1}: {reason}"
    elif action is Action.PAUSE:
        reason = f"analysis inconclusive at step {dep.step + 1}: {reason}"
    else:
        reason = f"step {dep.step + 1} successful ({len(outcomes)} measurements)"
    return _act(ctx, action, reason, outcome.to_dict())


def ab_events(events: list[DeploymentEvent]) -> list[DeploymentEvent]:
    """The stored A/B looks, oldest first."""
    return [
        e for e in events
        if e.kind is DeploymentEventKind.ANALYSIS and e.detail.get("kind") == "ab"
    ]  # fmt: skip


def ab_status(
    dep: Deployment,
    spec: AnalysisSpec,
    ws: Workspace,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One look at an A/B deployment (not stored): arms, estimate, interval, decision."""
    ab = spec.ab or AbSpec()
    frame = read_window(ws, dep.name, dep.created_at_ms, None)
    status = ab_look(
        frame, dep.weights, ab, control=dep.arms[0].name, treatment=dep.arms[1].name,
        previous=result_from_dict(previous) if previous else None, score=spec.score,
        prediction=spec.prediction,
    )  # fmt: skip
    return status.to_dict()


def _ab(ctx: _Ctx) -> Tick:
    dep, spec = ctx.dep, ctx.spec
    looks = ab_events(ctx.events)
    if looks and ctx.now_ms < int(looks[-1].detail["at_ms"]) + int(spec.interval_s * 1000):
        return _tick(ctx, "wait", "next A/B look after interval_s")
    previous = looks[-1].detail["status"]["result"] if looks else None
    status = ab_status(dep, spec, ctx.ws, previous)
    detail = {"kind": "ab", "look": len(looks) + 1, "at_ms": ctx.now_ms, "status": status}
    _record(ctx, detail, f"A/B look {len(looks) + 1}: {status['decision']}")
    decision, why = status["decision"], status["reason"]
    if decision == CONTINUE:
        return _tick(ctx, "measure", why, status)
    notify(ctx.ws, ctx.dep, spec, "deploy.decision", {"decision": decision, "status": status})
    ctx.dep = ctx.ws.store.get_deployment(dep.name)
    if decision == PROMOTE:
        return _act(ctx, Action.PROMOTE, f"A/B decided: promote the treatment; {why}", status)
    if decision == KEEP:
        return _act(ctx, Action.ROLLBACK, f"A/B decided: keep the stable arm; {why}", status)
    assert decision == SRM
    return _act(ctx, Action.PAUSE, f"A/B split broken, no decision taken: {why}", status)


def _decide(ctx: _Ctx) -> Tick:
    dep = ctx.dep
    if dep.status in FINAL:
        return _tick(ctx, "wait", f"deployment is {dep.status.value}")
    if dep.status is DeploymentStatus.PAUSED:
        if dep.reason == AWAITING_APPROVAL:
            return _act(ctx, Action.PROMOTE, AWAITING_APPROVAL, None)
        return _tick(ctx, "wait", f"paused: {dep.reason}" if dep.reason else "paused")
    if dep.status is not DeploymentStatus.ACTIVE or len(dep.arms) < 2:
        return _tick(ctx, "wait", "nothing to roll out")
    if dep.strategy in (DeploymentStrategy.CANARY, DeploymentStrategy.BLUEGREEN):
        return _canary(ctx)
    if dep.strategy is DeploymentStrategy.AB:
        return _ab(ctx)
    return _tick(ctx, "wait", "a shadow deployment is read with shadow_report")


def step_rollout(
    name: str,
    *,
    workspace: Workspace | None = None,
    now: float | datetime | None = None,
    owner: str | None = None,
    lease_ttl_s: float = LEASE_TTL_S,
) -> Tick:
    """One controller tick of deployment ``name`` (see the module docstring).

    Args:
        name: The deployment.
        workspace: Its workspace (default: the current one).
        now: The controller's clock (unix seconds or a datetime; default: now): which
            measurement windows are complete and when A/B looks are due.
        owner: Who holds the lease (default: this process; a standalone call releases
            it at the end, :func:`run_rollout` keeps it between ticks).
        lease_ttl_s: How long the lease lasts if this controller dies.

    Returns:
        What the tick did; ``wait`` when another controller holds the lease.
    """
    ws = workspace or current_workspace()
    holder = owner or f"{_OWNER}:{uuid.uuid4().hex[:8]}"
    lease = f"deploy:{name}"
    dep = ws.store.get_deployment(name)  # NotFound before any lease is taken
    if not ws.store.acquire_lease(lease, holder, lease_ttl_s):
        held = ws.store.get_lease(lease)
        who = held.owner if held is not None else "another controller"
        return Tick(name, "wait", dep.status.value, dep.step, f"lease held by {who}")
    try:
        dep = ws.store.get_deployment(name)
        ctx = _Ctx(ws, dep, _spec(dep), _ms(now), ws.store.deployment_events(name))
        try:
            return _decide(ctx)
        except Conflict as exc:
            return _tick(ctx, "wait", f"changed concurrently, next tick re-reads: {exc}")
    finally:
        if owner is None:
            ws.store.release_lease(lease, holder)


def run_rollout(
    name: str,
    *,
    interval_s: float = 5.0,
    until: float | None = None,
    workspace: Workspace | None = None,
    lease_ttl_s: float = LEASE_TTL_S,
    on_tick: Any = None,
) -> Tick:
    """Tick deployment ``name`` every ``interval_s`` seconds until it is done.

    Args:
        name: The deployment.
        interval_s: Seconds between ticks.
        until: Stop at this unix time even if not done (None: run to the end).
        workspace: Its workspace (default: the current one).
        lease_ttl_s: The lease's lifetime, renewed at every tick.
        on_tick: Called with each :class:`Tick` (e.g. to print it).

    Returns:
        The last tick (``done`` when completed or rolled back).
    """
    ws = workspace or current_workspace()
    owner = f"{_OWNER}:{uuid.uuid4().hex[:8]}"
    lease_ttl_s = max(lease_ttl_s, 2 * interval_s)
    try:
        while True:
            tick = step_rollout(name, workspace=ws, owner=owner, lease_ttl_s=lease_ttl_s)
            if on_tick is not None:
                on_tick(tick)
            if tick.done or (until is not None and time.time() >= until):
                return tick
            if tick.action in ("wait", "measure"):
                time.sleep(interval_s)
    finally:
        ws.store.release_lease(f"deploy:{name}", owner)
