"""Store checks for monitor windows and the per-segment sketch cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from loopml.entities import LineageEdge, MonitorWindow
from loopml.errors import InvalidInput, NotFound
from loopml.ids import ObjectKind, ObjectRef, new_id

if TYPE_CHECKING:
    from loopml.store import Store


def _window(start: int, **changes: object) -> MonitorWindow:
    values: dict[str, object] = {
        "id": new_id(),
        "scope": "deployment:web",
        "plan": "1000",
        "start_ms": start,
        "end_ms": start + 1_000,
        "rows": 1000,
        "complete": True,
        "drifted": False,
        "drift": {"amount": {"drifted": False, "role": "feature", "effects": {"ks": 0.01}}},
        "realised": {"accuracy": 0.9, "auc": None},
        "estimated": {"accuracy": 0.91},
        "labelled": 600,
        "model": "fraud",
        "version": 2,
        "deployment": "web",
    }
    values.update(changes)
    return MonitorWindow(**values)  # type: ignore[arg-type]


class MonitorStoreConformance:
    """Monitor-window checks; needs a ``store`` fixture (fresh and empty)."""

    def test_windows_round_trip_and_list_in_order(self, store: Store) -> None:
        late = store.put_monitor_window(_window(5_000), actor="test")
        early = store.put_monitor_window(_window(1_000), actor="test")
        other = store.put_monitor_window(_window(2_000, scope="model:fraud"), actor="test")
        assert late.created_at_ms > 0 and late.updated_at_ms > 0
        assert store.get_monitor_window(late.id) == late
        listed = store.list_monitor_windows(scope="deployment:web")
        assert [w.id for w in listed] == [early.id, late.id]
        assert listed[0].realised == {"accuracy": 0.9, "auc": None}
        assert store.list_monitor_windows(scope="deployment:web", newest_first=True, limit=1) == [
            late
        ]
        assert store.list_monitor_windows(since_ms=3_500) == [late]
        assert {w.id for w in store.list_monitor_windows()} == {early.id, late.id, other.id}
        assert store.list_monitor_windows(plan="1h") == []

    def test_recomputing_a_window_updates_it_in_place(self, store: Store) -> None:
        first = store.put_monitor_window(_window(1_000, complete=False, rows=10), actor="a")
        again = store.put_monitor_window(
            _window(1_000, rows=1000, drifted=True, report_digest="d" * 64), actor="b"
        )
        assert again.id == first.id and again.created_at_ms == first.created_at_ms
        stored = store.get_monitor_window(first.id)
        assert stored.rows == 1000 and stored.drifted and stored.complete
        assert stored.report_digest == "d" * 64
        assert len(store.list_monitor_windows()) == 1

    def test_window_lineage_and_bad_input(self, store: Store) -> None:
        window = _window(1_000)
        ref = ObjectRef(ObjectKind.MONITOR_WINDOW, window.id)
        edge = LineageEdge(ObjectRef(ObjectKind.DEPLOYMENT, "web"), ref, "monitored")
        store.put_monitor_window(window, actor="test", edges=[edge])
        assert [n.edge for n in store.upstream(ref, depth=1)] == [edge]
        with pytest.raises(NotFound):
            store.get_monitor_window("nope")
        with pytest.raises(InvalidInput):
            store.put_monitor_window(_window(2_000, scope=""), actor="test")
        with pytest.raises(InvalidInput):
            store.put_monitor_window(_window(3_000, realised={"x": float("nan")}), actor="t")

    def test_sketch_cache(self, store: Store) -> None:
        store.put_monitor_sketch("s1", "k", '{"a": 1}')
        store.put_monitor_sketch("s1", "k", '{"a": 2}')  # kept: a sketch never changes
        store.put_monitor_sketch("s2", "k", "{}")
        store.put_monitor_sketch("s1", "other", "[]")
        assert store.get_monitor_sketches(["s1", "s2", "s3"], "k") == {
            "s1": '{"a": 1}',
            "s2": "{}",
        }
        assert store.get_monitor_sketches([], "k") == {}
