"""Conformance checks for the trigger part of a Store."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from loopml.entities import Trigger, TriggerEvent, TriggerEventKind, TriggerKind
from loopml.errors import Conflict, NotFound

if TYPE_CHECKING:
    from loopml.store import Store


def _rule(name: str = "fraud-drift") -> Trigger:
    return Trigger(
        name=name,
        kind=TriggerKind.DRIFT,
        model="fraud",
        condition={"threshold": 0.3},
        action={"pipeline": "pipeline:training", "params": {"days": 5}},
        cooldown_s=60.0,
        budget_per_day=2,
    )


class TriggerStoreConformance:
    """Triggers and their events; needs a ``store`` fixture (fresh and empty)."""

    def test_create_get_list_delete_triggers(self, store: Store) -> None:
        created = store.create_trigger(_rule(), actor="ann")
        assert created.revision == 1 and created.created_by == "ann"
        assert created.condition == {"threshold": 0.3} and created.budget_per_day == 2
        assert store.get_trigger("fraud-drift") == created
        store.create_trigger(_rule("a-first"), actor="ann")
        assert [t.name for t in store.list_triggers()] == ["a-first", "fraud-drift"]
        with pytest.raises(Conflict):
            store.create_trigger(_rule(), actor="bob")
        assert store.delete_trigger("a-first", actor="ann").name == "a-first"
        with pytest.raises(NotFound):
            store.get_trigger("a-first")
        with pytest.raises(NotFound):
            store.delete_trigger("a-first", actor="ann")
        actions = [e.entry.action for e in store.list_audit_events(object_kind="trigger")]
        assert actions == ["trigger.create", "trigger.create", "trigger.delete"]

    def test_update_trigger_is_compare_and_set(self, store: Store) -> None:
        created = store.create_trigger(_rule(), actor="ann")
        moved = store.update_trigger(
            "fraud-drift", revision=1, actor="agent", state={"seen": "v2"}, last_fired_at_ms=5
        )
        assert moved.revision == 2 and moved.state == {"seen": "v2"}
        assert moved.last_fired_at_ms == 5 and moved.condition == created.condition
        with pytest.raises(Conflict):
            store.update_trigger("fraud-drift", revision=1, actor="other", state={})
        off = store.update_trigger("fraud-drift", revision=2, actor="ann", enabled=False)
        assert not off.enabled and off.state == {"seen": "v2"}
        with pytest.raises(NotFound):
            store.update_trigger("absent", revision=1, actor="ann")

    def test_trigger_events_in_order_with_filters(self, store: Store) -> None:
        store.create_trigger(_rule(), actor="ann")
        fired = store.add_trigger_event(
            TriggerEvent(id="", trigger="fraud-drift", kind=TriggerEventKind.FIRED, at_ms=0),
            actor="agent",
        )
        assert fired.id and fired.at_ms > 0 and fired.actor == "agent"
        step = store.add_trigger_event(
            TriggerEvent(
                id="",
                trigger="fraud-drift",
                kind=TriggerEventKind.STEP,
                at_ms=0,
                chain_id=fired.id,
                step="train",
                status="completed",
                detail={"pipeline_run": "r1"},
            ),
            actor="agent",
        )
        events = store.list_trigger_events(trigger="fraud-drift")
        assert [e.id for e in events] == [fired.id, step.id]
        assert store.list_trigger_events(chain_id=fired.id) == [step]
        assert store.list_trigger_events(kind="fired") == [fired]
        assert store.list_trigger_events(limit=1) == [step]
        assert store.count_trigger_events("fraud-drift", "fired", since_ms=0) == 1
        assert store.count_trigger_events("fraud-drift", "fired", since_ms=step.at_ms + 1) == 0
        audited = store.list_audit_events(object_kind="trigger_event")
        assert [e.entry.action for e in audited] == ["trigger.fired", "trigger.step"]
