"""Store conformance for tracking: bulk metrics, latest values, search, liveness, files."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest

from loopml.entities import (
    MAX_KEY_LENGTH,
    MAX_PARAM_LENGTH,
    MAX_TAG_LENGTH,
    BoolOp,
    Comparison,
    LineageEdge,
    Not,
    OrderBy,
    RunArtifact,
    RunQuery,
    RunStatus,
)
from loopml.errors import InvalidInput, NotFound
from loopml.ids import ObjectRef

if TYPE_CHECKING:
    from loopml.store import Store

_D1, _D2, _D3 = ("a" * 64), ("b" * 64), ("c" * 64)


def _ids(runs: list) -> list[str]:  # type: ignore[type-arg]
    return [r.id for r in runs]


class TrackingStoreConformance:
    """Checks for the tracking part of :class:`loopml.store.RunStore`."""

    def test_append_rows_of_several_runs_and_latest(self, store: Store) -> None:
        a, b = store.create_run(name="a"), store.create_run(name="b")
        store.append_metric_rows(
            [(a.id, "loss", 2, 10, 0.2), (a.id, "loss", 1, 20, 0.9), (b.id, "loss", 0, 5, None)]
        )
        store.append_metric_rows([(a.id, "loss", 0, 30, 5.0)])  # older step: not the latest
        summaries = {(s.run_id, s.key): s for s in store.metric_summaries([a.id, b.id])}
        sa = summaries[(a.id, "loss")]
        assert (sa.latest, sa.latest_step, sa.min, sa.max, sa.count) == (0.2, 2, 0.2, 5.0, 3)
        assert math.isnan(summaries[(b.id, "loss")].latest)
        assert [m.step for m in store.metric_history(a.id, "loss")] == [0, 1, 2]

    def test_append_rows_is_all_or_nothing(self, store: Store) -> None:
        run = store.create_run(name="r")
        with pytest.raises(NotFound):
            store.append_metric_rows([(run.id, "m", 0, 1, 1.0), ("9" * 32, "m", 0, 1, 1.0)])
        assert store.metric_history(run.id, "m") == []

    def test_search_filters_in_sql(self, store: Store) -> None:
        rf = store.create_run(name="rf", params={"model": "rf", "C": "0.5"}, tags={"team": "risk"})
        lr = store.create_run(name="lr", params={"model": "lr", "C": "10"}, tags={"team": "ops"})
        other = store.create_run(name="x", params={"C": "abc"})
        store.append_metric_rows([(rf.id, "auc", 0, 1, 0.95), (lr.id, "auc", 0, 1, 0.80)])
        store.set_run_status(lr.id, RunStatus.FINISHED)

        def find(cond: object, **kw: object) -> list[str]:
            return _ids(store.search_runs(RunQuery(where=cond, **kw)))  # type: ignore[arg-type]

        assert find(Comparison("metrics", "auc", ">", 0.9)) == [rf.id]
        assert find(
            BoolOp(
                "and",
                (
                    Comparison("metrics", "auc", ">", 0.5),
                    Comparison("params", "model", "=", "rf"),
                    Comparison("tags", "team", "=", "risk"),
                ),
            )
        ) == [rf.id]
        assert find(Comparison("params", "C", ">", 1.0)) == [lr.id]  # numeric, 'abc' ignored
        assert set(find(Comparison("params", "C", "in", (0.5, 10.0)))) == {rf.id, lr.id}
        assert find(Comparison("attributes", "status", "=", "FINISHED")) == [lr.id]
        assert find(Comparison("metrics", "auc", "=", None)) == [other.id]
        assert find(Not(Comparison("params", "model", "like", "r%"))) == [other.id, lr.id]
        assert find(Comparison("attributes", "name", "ilike", "R%")) == [rf.id]
        by_auc = store.search_runs(RunQuery(order_by=(OrderBy("metrics", "auc", True),)))
        assert _ids(by_auc) == [rf.id, lr.id, other.id]  # runs without the metric last
        assert by_auc[0].params == {"model": "rf", "C": "0.5"}
        assert store.count_runs(RunQuery(where=Comparison("metrics", "auc", ">", 0.0))) == 2

    def test_search_paging_and_bad_page(self, store: Store) -> None:
        ids = [store.create_run(name=f"r{i}").id for i in range(5)]
        page = store.search_runs(RunQuery(limit=2, offset=2))
        assert _ids(page) == [ids[2], ids[1]]
        with pytest.raises(InvalidInput):
            store.search_runs(RunQuery(limit=0))

    def test_heartbeat_and_crash_detection(self, store: Store) -> None:
        live = store.create_run(name="live", heartbeat=True)
        quiet = store.create_run(name="no-heartbeat")
        assert store.mark_stale_runs_crashed(live.created_at_ms - 1) == []
        store.heartbeat([live.id])
        crashed = store.mark_stale_runs_crashed(2**62)
        assert crashed == [live.id]
        run = store.get_run(live.id)
        assert run.status is RunStatus.CRASHED and run.ended_at_ms is not None and run.error
        assert store.get_run(quiet.id).status is RunStatus.RUNNING

    def test_notes(self, store: Store) -> None:
        run = store.create_run(name="r", notes="first")
        assert store.get_run(run.id).notes == "first"
        store.set_notes(run.id, "# better\nnotes ü")
        assert store.get_run(run.id).notes == "# better\nnotes ü"
        with pytest.raises(NotFound):
            store.set_notes("1" * 32, "x")

    def test_param_and_tag_size_limits(self, store: Store) -> None:
        key = "k" * MAX_KEY_LENGTH
        run = store.create_run(
            name="r", params={key: "p" * MAX_PARAM_LENGTH}, tags={key: "t" * MAX_TAG_LENGTH}
        )
        assert len(store.get_run(run.id).tags[key]) == MAX_TAG_LENGTH  # the limits fit
        for call in (
            lambda: store.log_params(run.id, {"p": "x" * (MAX_PARAM_LENGTH + 1)}),
            lambda: store.set_tags(run.id, {"t": "x" * (MAX_TAG_LENGTH + 1)}),
            lambda: store.log_params(run.id, {"k" * (MAX_KEY_LENGTH + 1): "x"}),
            lambda: store.create_run(name="s", tags={"t": "x" * (MAX_TAG_LENGTH + 1)}),
        ):
            with pytest.raises(InvalidInput) as caught:
                call()
            assert caught.value.fields["size"] == caught.value.fields["limit"] + 1
        assert set(store.get_run(run.id).params) == {key}  # nothing half-written

    def test_run_artifacts(self, store: Store) -> None:
        run = store.create_run(name="r")
        store.add_run_artifacts(run.id, [RunArtifact("model/model.pkl", _D1, 10)])
        store.add_run_artifacts(
            run.id, [RunArtifact("model/model.pkl", _D2, 12), RunArtifact("a.txt", _D3, 1)]
        )
        assert store.list_run_artifacts(run.id) == [
            RunArtifact("a.txt", _D3, 1),
            RunArtifact("model/model.pkl", _D2, 12),
        ]
        for bad in ("../x", "", "a//b", "/etc/passwd", "a\x00b", "a\\b", "C:/x", "a/./b"):
            with pytest.raises(InvalidInput):
                store.add_run_artifacts(run.id, [RunArtifact(bad, _D1, 1)])
        with pytest.raises(NotFound):
            store.add_run_artifacts("2" * 32, [RunArtifact("a", _D1, 1)])

    def test_soft_delete_restore_and_purge(self, store: Store) -> None:
        parent = store.create_run(name="p")
        child = store.create_run(name="c", parent_id=parent.id)
        keep = store.create_run(name="keep")
        store.add_run_artifacts(parent.id, [RunArtifact("only.bin", _D1, 1)])
        store.add_run_artifacts(child.id, [RunArtifact("shared.bin", _D2, 1)])
        store.add_run_artifacts(keep.id, [RunArtifact("shared.bin", _D2, 1)])
        store.add_run_artifacts(child.id, [RunArtifact("linked.bin", _D3, 1)])
        store.add_edges([LineageEdge(ObjectRef("artifact", _D3), ObjectRef("run", "z"), "x")])
        store.append_metric_rows([(child.id, "m", 0, 1, 1.0)])
        store.delete_runs([parent.id])
        assert _ids(store.search_runs(RunQuery())) == [keep.id]
        assert store.get_run(child.id).is_deleted
        store.restore_runs([parent.id])
        assert len(store.search_runs(RunQuery())) == 3
        store.delete_runs([parent.id])
        assert set(_ids(store.search_runs(RunQuery(include_deleted=True)))) == {
            parent.id,
            child.id,
            keep.id,
        }
        freed = store.purge_deleted_runs(2**62)
        assert freed == [_D1]  # shared with a kept run, or in lineage: kept
        with pytest.raises(NotFound):
            store.get_run(child.id)
        assert store.purge_deleted_runs(2**62) == []
        with pytest.raises(NotFound):
            store.delete_runs(["3" * 32])
