"""Checking triggers and firing them: the observation, the policy, the recorded event.

A firing is claimed with a compare-and-set on the trigger's revision, so two agents that
see the same condition record one ``fired`` event between them; the event's id is the id
of the chain it starts.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopml import lineage
from loopml.entities import Trigger, TriggerEvent, TriggerEventKind, TriggerKind
from loopml.errors import Conflict
from loopml.ids import ObjectKind, ObjectRef, new_id
from loopml.lineage import Relation
from loopml.triggers._conditions import Observation, observe
from loopml.triggers._policy import DAY_MS, decide
from loopml.workspace import Workspace, current_workspace

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class CheckResult:
    """What one check of one trigger did; ``event`` is the event it recorded, if any."""

    trigger: str
    verdict: str
    reason: str = ""
    event: TriggerEvent | None = None
    value: Any = None

    @property
    def chain_id(self) -> str | None:
        """The chain started, when it fired (not on a dry run)."""
        if self.event is not None and self.event.kind is TriggerEventKind.FIRED:
            return self.event.id
        return None


def _plan(trigger: Trigger) -> dict[str, Any]:
    action = dict(trigger.action)
    steps = ["check_data", "train", "evaluate", "register", "canary", "promote"]
    return {
        "would_run": action.get("pipeline") or action.get("train") or "(no training action)",
        "params": action.get("params", {}),
        "dataset": action.get("dataset"),
        "deployment": action.get("deployment"),
        "steps": steps,
    }


def _record(
    trigger: Trigger,
    kind: TriggerEventKind,
    ws: Workspace,
    *,
    detail: Mapping[str, Any],
    status: str = "",
    causes: Sequence[ObjectRef] = (),
) -> TriggerEvent:
    event_id = new_id()
    event = ws.store.add_trigger_event(
        TriggerEvent(
            id=event_id,
            trigger=trigger.name,
            kind=kind,
            at_ms=0,
            chain_id=event_id if kind is TriggerEventKind.FIRED else None,
            status=status,
            detail=dict(detail),
        ),
        actor=ws.actor.name,
    )
    here = ObjectRef(ObjectKind.TRIGGER_EVENT, event.id)
    edges = [lineage.edge(ObjectRef(ObjectKind.TRIGGER, trigger.name), here, Relation.TRIGGERED)]
    edges += [lineage.edge(cause, here, Relation.TRIGGERED) for cause in causes]
    lineage.record(edges, store=ws.store)
    return event


def _apply(
    trigger: Trigger,
    obs: Observation,
    ws: Workspace,
    at: int,
    *,
    force: bool,
    reason: str,
) -> CheckResult:
    fired_today = ws.store.count_trigger_events(
        trigger.name, TriggerEventKind.FIRED, since_ms=at - DAY_MS
    )
    state = {**trigger.state, **obs.baseline}
    decision = decide(
        _with_state(trigger, state),
        met=obs.met,
        now_ms=at,
        fired_last_day=fired_today,
        force=force,
    )
    new_state = dict(decision.state)
    firing = decision.verdict == "fire"
    if firing:
        new_state.update(obs.on_fire)
    held_by = decision.reason.split(":", 1)[0]
    announce = decision.verdict == "suppress" and state.get("suppressed") != held_by
    if decision.verdict == "suppress":
        new_state["suppressed"] = held_by
    changed = new_state != dict(trigger.state)
    if changed or firing:
        try:
            ws.store.update_trigger(
                trigger.name,
                revision=trigger.revision,
                actor=ws.actor.name,
                state=new_state,
                last_fired_at_ms=at if firing and not trigger.dry_run else None,
            )
        except Conflict:  # another agent checked it meanwhile: its result stands
            return CheckResult(trigger.name, "skipped", "checked by another agent")
    detail = {**obs.detail, "value": obs.value} if obs.value is not None else dict(obs.detail)
    if reason:
        detail["reason"] = reason
    if firing:
        kind = TriggerEventKind.DRY_RUN if trigger.dry_run else TriggerEventKind.FIRED
        if trigger.dry_run:
            detail["plan"] = _plan(trigger)
        event = _record(trigger, kind, ws, detail=detail, causes=obs.causes)
        return CheckResult(trigger.name, kind.value, event=event, value=obs.value)
    if announce:
        event = _record(
            trigger,
            TriggerEventKind.SUPPRESSED,
            ws,
            detail={**detail, "why": decision.reason},
            status=decision.reason.split(":", 1)[0],
        )
        return CheckResult(trigger.name, "suppress", decision.reason, event, obs.value)
    return CheckResult(trigger.name, decision.verdict, decision.reason, value=obs.value)


def _with_state(trigger: Trigger, state: Mapping[str, Any]) -> Trigger:
    from dataclasses import replace

    return replace(trigger, state=dict(state))


def check(
    name: str, *, workspace: Workspace | None = None, at_ms: int | None = None
) -> CheckResult:
    """Observe one trigger's condition and fire it when the policy allows.

    Args:
        name: The trigger.
        workspace: Where it is stored (default: the current workspace).
        at_ms: The time of the check (default: now; tests move the clock).

    Returns:
        What happened: ``idle``, ``wait`` (debounce), ``suppress`` (cool-down or budget),
        ``fired`` (a chain starts; see :attr:`CheckResult.chain_id`) or ``dry_run``.
    """
    ws = workspace or current_workspace()
    trigger = ws.store.get_trigger(name)
    if not trigger.enabled:
        return CheckResult(name, "disabled")
    at = at_ms if at_ms is not None else now_ms()
    return _apply(trigger, observe(trigger, ws, at), ws, at, force=False, reason="")


def check_all(*, workspace: Workspace | None = None, at_ms: int | None = None) -> list[CheckResult]:
    """Check every enabled trigger once (what the agent does on each tick).

    A trigger whose condition cannot be observed (its source raises, the champion has no
    training data to compare with...) gives verdict ``error`` with the reason, logged; the
    other triggers are still checked.
    """
    ws = workspace or current_workspace()
    results = []
    for t in ws.store.list_triggers():
        if not t.enabled or t.kind is TriggerKind.MANUAL:
            continue
        try:
            results.append(check(t.name, workspace=ws, at_ms=at_ms))
        except Exception as exc:  # one broken rule must not stop the agent checking the rest
            reason = f"{type(exc).__name__}: {exc}"
            logging.getLogger("loopml.agent").warning("trigger %s: %s", t.name, reason)
            results.append(CheckResult(t.name, "error", reason))
    return results


def fire(
    name: str,
    *,
    reason: str = "",
    alert: str | None = None,
    run: bool = False,
    workspace: Workspace | None = None,
    at_ms: int | None = None,
) -> CheckResult:
    """Fire a trigger by hand (any kind): cool-down and budget still apply, debounce not.

    Args:
        name: The trigger.
        reason: Why (kept in the event).
        alert: An alert id that caused it (recorded as lineage alert -> event).
        run: Run the chain now, in this process (the agent runs it otherwise).
        workspace: Where it is stored (default: the current workspace).
        at_ms: The time (default: now).
    """
    ws = workspace or current_workspace()
    trigger = ws.store.get_trigger(name)
    at = at_ms if at_ms is not None else now_ms()
    causes = (ObjectRef(ObjectKind.ALERT, alert),) if alert else ()
    obs = Observation(True, detail={"manual": True, "by": ws.actor.name}, causes=causes)
    result = _apply(trigger, obs, ws, at, force=True, reason=reason)
    if run and result.chain_id is not None:
        from loopml.triggers._chain import run_chain

        run_chain(result.chain_id, workspace=ws)
    return result


def history(
    name: str | None = None,
    *,
    chain_id: str | None = None,
    limit: int | None = 100,
    workspace: Workspace | None = None,
) -> list[TriggerEvent]:
    """Events of one trigger (or all, or one chain), oldest first."""
    ws = workspace or current_workspace()
    return ws.store.list_trigger_events(trigger=name, chain_id=chain_id, limit=limit)
