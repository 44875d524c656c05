"""Alerts in the workspace: store the transitions, link them to their windows, deliver them."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from loopml.entities import Alert, AlertState
from loopml.ids import ObjectKind, ObjectRef
from loopml.lineage import Relation, edge
from loopml.monitoring._alerts import AlertEvaluation, AlertTracker, evaluate_alerts
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from loopml.monitoring._alerts import AlertRule, MonitoredValue
    from loopml.monitoring._alerts_delivery import AlertSink
    from loopml.workspace import Workspace


def list_alerts(
    *,
    state: AlertState | str | None = None,
    deployment: str | None = None,
    rule: str | None = None,
    since_ms: int | None = None,
    limit: int | None = 100,
    workspace: Workspace | None = None,
) -> list[Alert]:
    """Stored alerts, newest first (each filter given narrows the list).

    Args:
        state: ``firing`` or ``resolved``.
        deployment: Only this deployment's alerts.
        rule: Only this rule's alerts.
        since_ms: Only alerts fired at or after this time.
        limit: At most this many (None: all).
        workspace: The workspace (default: the current one).
    """
    ws = workspace or current_workspace()
    return ws.store.list_alerts(
        state=state, deployment=deployment, rule=rule, since_ms=since_ms, limit=limit
    )


def load_tracker(
    *,
    workspace: Workspace | None = None,
    cooldown_s: float = 86_400.0,
    now_ms: int | None = None,
) -> AlertTracker:
    """The :class:`AlertTracker` the stored alerts imply: what is firing, and what resolved
    in the ``cooldown_s`` seconds before ``now_ms`` (default: now). Pending breaches are
    not stored; their for-duration wait restarts."""
    ws = workspace or current_workspace()
    now = int(time.time() * 1000) if now_ms is None else int(now_ms)
    since = int(now - cooldown_s * 1000)
    firing = ws.store.list_alerts(state=AlertState.FIRING, limit=None)
    recent = ws.store.list_alerts(state=AlertState.RESOLVED, since_ms=since, limit=None)
    return AlertTracker.from_alerts([*recent, *firing])


def record_alerts(
    evaluation: AlertEvaluation,
    *,
    sinks: Sequence[AlertSink] = (),
    workspace: Workspace | None = None,
) -> list[Alert]:
    """Store what ``evaluation`` fired and resolved, and deliver it to ``sinks``.

    A fired alert is stored with the lineage edge ``monitor_window -> alert`` when it
    carries a window id; a resolved one is marked resolved. Every sink gets each
    transition; sinks that ``refresh`` (Alertmanager) also get each still-firing alert
    again. Returns the transitions as stored.
    """
    ws = workspace or current_workspace()
    actor = ws.actor.name
    stored: list[Alert] = []
    for alert in evaluation.fired:
        edges = []
        if alert.window_id:
            edges.append(
                edge(
                    ObjectRef(ObjectKind.MONITOR_WINDOW, alert.window_id),
                    ObjectRef(ObjectKind.ALERT, alert.id),
                    Relation.FIRED,
                )
            )
        stored.append(ws.store.add_alert(alert, actor=actor, edges=edges))
    for alert in evaluation.resolved:
        at = alert.resolved_at_ms if alert.resolved_at_ms is not None else int(time.time() * 1000)
        stored.append(ws.store.resolve_alert(alert.id, actor=actor, resolved_at_ms=at))
    changed = {a.id for a in stored}
    for sink in sinks:
        for alert in stored:
            sink.deliver(alert)
        if sink.refresh:
            for alert in evaluation.firing:
                if alert.id not in changed:
                    sink.deliver(alert)
    return stored


def check_alerts(
    rules: Sequence[AlertRule],
    values: Iterable[MonitoredValue],
    tracker: AlertTracker | None = None,
    *,
    sinks: Sequence[AlertSink] = (),
    now_ms: int | None = None,
    workspace: Workspace | None = None,
) -> AlertEvaluation:
    """Evaluate, store and deliver in one call; pass the returned ``tracker`` next time.

    Without a ``tracker`` it starts from :func:`load_tracker` (what the store says is
    firing, and recent resolutions for the cool-down).
    """
    ws = workspace or current_workspace()
    if tracker is None:
        longest = max((r.cooldown_s for r in rules), default=0.0)
        tracker = load_tracker(workspace=ws, cooldown_s=longest, now_ms=now_ms)
    evaluation = evaluate_alerts(rules, values, tracker, now_ms=now_ms)
    record_alerts(evaluation, sinks=sinks, workspace=ws)
    return evaluation
