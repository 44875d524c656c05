"""Store checks for the prediction log's index: segments, prediction ids and feedback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from loopml.entities import FeedbackEntry, LineageEdge, PredictionSegment
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.ids import ObjectRef, new_id

if TYPE_CHECKING:
    from loopml.store import Store


def _segment(start: int, end: int, **changes: object) -> PredictionSegment:
    values: dict[str, object] = {
        "id": new_id(),
        "model": "fraud",
        "version": 1,
        "deployment": None,
        "digest": "c" * 64,
        "rows": 3,
        "predictions": 2,
        "start_ms": start,
        "end_ms": end,
        "size": 100,
    }
    values.update(changes)
    return PredictionSegment(**values)  # type: ignore[arg-type]


def ids(segments: list[PredictionSegment]) -> list[str]:
    return [s.id for s in segments]


class PredictionStoreConformance:
    """Prediction-log checks; needs a ``store`` fixture (fresh and empty)."""

    def test_segment_index_and_ids(self, store: Store) -> None:
        first = store.add_prediction_segment(_segment(1_000, 2_000), ["p1", "p2", "p1"])
        assert first.created_at_ms > 0
        assert store.get_prediction_segment(first.id) == first
        second = store.add_prediction_segment(
            _segment(3_000, 4_000, version=2, deployment="web"), ["p3", "p1"]
        )
        assert store.find_predictions(["p1", "p3", "nope"]) == {
            "p1": sorted([first.id, second.id]),
            "p3": [second.id],
        }
        with pytest.raises(NotFound):
            store.get_prediction_segment("0" * 32)

    def test_segment_sealed_twice_is_a_conflict_and_keeps_one_index(self, store: Store) -> None:
        segment = store.add_prediction_segment(_segment(1, 2), ["p1"])
        with pytest.raises(Conflict):
            store.add_prediction_segment(segment, ["p1", "p2"])
        assert store.find_predictions(["p1", "p2"]) == {"p1": [segment.id]}

    def test_segment_lineage_in_the_same_transaction(self, store: Store) -> None:
        segment = _segment(1, 2)
        version = ObjectRef("model_version", new_id())
        edge = LineageEdge(version, ObjectRef("prediction_segment", segment.id), "logged")
        store.add_prediction_segment(segment, ["p1"], edges=[edge])
        assert [n.edge for n in store.downstream(version)] == [edge]

    def test_many_ids_in_one_segment(self, store: Store) -> None:
        ids = [f"id-{n}" for n in range(2_500)]
        segment = store.add_prediction_segment(_segment(1, 2, predictions=len(ids)), ids)
        found = store.find_predictions(ids)
        assert len(found) == len(ids) and set(map(tuple, found.values())) == {(segment.id,)}

    def test_list_segments_filters(self, store: Store) -> None:
        a = store.add_prediction_segment(_segment(1_000, 2_000), ["a"])
        b = store.add_prediction_segment(_segment(3_000, 4_000, version=2), ["b"])
        c = store.add_prediction_segment(
            _segment(5_000, 6_000, model="churn", deployment="web"), []
        )
        assert ids(store.list_prediction_segments()) == [a.id, b.id, c.id]
        assert ids(store.list_prediction_segments(model="fraud")) == [a.id, b.id]
        assert ids(store.list_prediction_segments(model="fraud", version=2)) == [b.id]
        assert ids(store.list_prediction_segments(deployment="web")) == [c.id]
        assert ids(store.list_prediction_segments(since_ms=2_000, until_ms=3_000)) == [a.id, b.id]
        assert ids(store.list_prediction_segments(since_ms=4_001)) == [c.id]
        assert ids(store.list_prediction_segments(until_ms=999)) == []
        assert ids(store.list_prediction_segments(limit=1)) == [a.id]

    def test_feedback_latest_wins_and_counts(self, store: Store) -> None:
        first = store.log_feedback([FeedbackEntry("p1", 0)], actor="ana")
        assert [(f.label, f.updates, f.row) for f in first] == [(0, 1, None)]
        store.log_feedback([FeedbackEntry("p1", 1), FeedbackEntry("p1", {"y": 2})], actor="ben")
        store.log_feedback([FeedbackEntry("p1", "row label", row=2)], actor="ana")
        got = store.get_feedback(["p1", "p2"])
        assert [(f.row, f.label, f.updates) for f in got] == [
            (None, {"y": 2}, 3),
            (2, "row label", 1),
        ]
        assert got[0].actor == "ben" and got[0].updated_at_ms >= got[0].created_at_ms

    def test_feedback_rejects_what_it_cannot_store(self, store: Store) -> None:
        with pytest.raises(InvalidInput):
            store.log_feedback([FeedbackEntry("p1", object())], actor="ana")
        with pytest.raises(InvalidInput):
            store.log_feedback([FeedbackEntry("p1", float("nan"))], actor="ana")
        with pytest.raises(InvalidInput):
            store.log_feedback([FeedbackEntry("", 1)], actor="ana")
        with pytest.raises(InvalidInput):
            store.log_feedback([FeedbackEntry("p1", 1, row=-3)], actor="ana")
        assert store.get_feedback(["p1"]) == []
        assert store.log_feedback([], actor="ana") == []

    def test_segment_digest_is_a_reference(self, store: Store) -> None:
        store.add_prediction_segment(_segment(1, 2, digest="d" * 64), ["p"])
        assert "d" * 64 in store.artifact_references().objects
