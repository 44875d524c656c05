"""Conformance checks for the alert part of a Store."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest

from loopml.entities import Alert, AlertSeverity, AlertState, LineageEdge
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.ids import ObjectRef, new_id

if TYPE_CHECKING:
    from loopml.store import Store


def _alert(rule: str = "amount-drift", **kw: object) -> Alert:
    values: dict[str, object] = {
        "id": new_id(),
        "rule": rule,
        "kind": "drift",
        "state": AlertState.FIRING,
        "severity": AlertSeverity.WARNING,
        "subject": "amount",
        "value": 0.31,
        "bound": 0.2,
        "deployment": "fraud",
        "model": "fraud",
        "version": 3,
        "window_id": "w-2026-12-02T20",
        "fired_at_ms": 1_796_000_000_000,
        "message": "amount psi 0.31 > 0.2",
    }
    values.update(kw)
    return Alert(**values)  # type: ignore[arg-type]


class AlertStoreConformance:
    """Alerts from firing to resolved; needs a ``store`` fixture (fresh and empty)."""

    def test_add_get_list_alerts(self, store: Store) -> None:
        first = store.add_alert(_alert(), actor="monitor")
        assert store.get_alert(first.id) == first
        assert first.state is AlertState.FIRING and first.version == 3
        assert first.window_id == "w-2026-12-02T20" and first.value == 0.31
        later = store.add_alert(
            _alert(
                "latency",
                kind="latency",
                subject="p99",
                deployment="churn",
                window_id=None,
                version=None,
                fired_at_ms=1_796_000_001_000,
                severity=AlertSeverity.CRITICAL,
            ),
            actor="monitor",
        )
        assert later.window_id is None and later.version is None
        assert [a.id for a in store.list_alerts()] == [later.id, first.id]
        assert [a.id for a in store.list_alerts(deployment="fraud")] == [first.id]
        assert [a.id for a in store.list_alerts(rule="latency")] == [later.id]
        assert [a.id for a in store.list_alerts(since_ms=1_796_000_000_500)] == [later.id]
        assert [a.id for a in store.list_alerts(limit=1)] == [later.id]
        with pytest.raises(Conflict):
            store.add_alert(first, actor="monitor")
        with pytest.raises(NotFound):
            store.get_alert("0" * 32)

    def test_resolve_is_once_and_filters_by_state(self, store: Store) -> None:
        alert = store.add_alert(_alert(), actor="monitor")
        done = store.resolve_alert(alert.id, actor="monitor", resolved_at_ms=1_796_000_060_000)
        assert done.state is AlertState.RESOLVED and done.resolved_at_ms == 1_796_000_060_000
        assert store.get_alert(alert.id) == done
        with pytest.raises(Conflict):
            store.resolve_alert(alert.id, actor="monitor", resolved_at_ms=1_796_000_070_000)
        with pytest.raises(NotFound):
            store.resolve_alert("0" * 32, actor="monitor", resolved_at_ms=1)
        other = store.add_alert(_alert(), actor="monitor")
        assert [a.id for a in store.list_alerts(state="firing")] == [other.id]
        assert [a.id for a in store.list_alerts(state=AlertState.RESOLVED)] == [alert.id]
        with pytest.raises(InvalidInput):
            store.list_alerts(state="burning")

    def test_nan_values_and_lineage_and_audit(self, store: Store) -> None:
        window = ObjectRef.parse("monitor_window:w1")
        alert = _alert(value=math.nan, window_id="w1")
        edge = LineageEdge(window, ObjectRef.parse(f"alert:{alert.id}"), "fired")
        stored = store.add_alert(alert, actor="monitor", edges=[edge])
        assert math.isnan(stored.value)
        assert edge in [n.edge for n in store.downstream(window)]
        store.resolve_alert(stored.id, actor="bot", resolved_at_ms=1_796_000_060_000)
        events = store.list_audit_events(object_kind="alert", object_id=stored.id)
        assert [(e.entry.action, e.entry.actor) for e in events] == [
            ("alert.fire", "monitor"),
            ("alert.resolve", "bot"),
        ]
