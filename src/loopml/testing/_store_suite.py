"""The Store conformance suite: the behaviour every Store implementation must show."""

from __future__ import annotations

import math

import pytest

from loopml.entities import LineageEdge, Metric, RunStatus
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.ids import ObjectRef
from loopml.store import Store
from loopml.testing._alerts_suite import AlertStoreConformance
from loopml.testing._datasets_suite import DatasetStoreConformance
from loopml.testing._deployments_suite import DeploymentStoreConformance
from loopml.testing._features_suite import FeatureStoreConformance
from loopml.testing._governance_suite import GovernanceStoreConformance
from loopml.testing._monitor_suite import MonitorStoreConformance
from loopml.testing._pipeline_suite import PipelineStoreConformance
from loopml.testing._predictions_suite import PredictionStoreConformance
from loopml.testing._registry_suite import RegistryConformance
from loopml.testing._tracking_suite import TrackingStoreConformance
from loopml.testing._triggers_suite import TriggerStoreConformance


def _edge(src: str, dst: str, relation: str = "made") -> LineageEdge:
    return LineageEdge(ObjectRef.parse(src), ObjectRef.parse(dst), relation)


class StoreConformance(
    TrackingStoreConformance,
    DatasetStoreConformance,
    RegistryConformance,
    PipelineStoreConformance,
    FeatureStoreConformance,
    GovernanceStoreConformance,
    PredictionStoreConformance,
    DeploymentStoreConformance,
    AlertStoreConformance,
    MonitorStoreConformance,
    TriggerStoreConformance,
):
    """Checks for :class:`loopml.store.Store`; needs a ``store`` fixture (fresh and empty)."""

    def test_is_a_store(self, store: Store) -> None:
        assert isinstance(store, Store)

    # runs -------------------------------------------------------------------------------
    def test_create_and_get_run(self, store: Store) -> None:
        run = store.create_run(name="baseline", params={"C": "1.0"}, tags={"team": "risk"})
        assert run.status is RunStatus.RUNNING and run.ended_at_ms is None
        again = store.get_run(run.id)
        assert again == run
        assert again.params == {"C": "1.0"} and again.tags == {"team": "risk"}

    def test_nested_run_needs_existing_parent(self, store: Store) -> None:
        parent = store.create_run(name="parent")
        child = store.create_run(name="child", parent_id=parent.id)
        assert store.get_run(child.id).parent_id == parent.id
        with pytest.raises(NotFound):
            store.create_run(name="orphan", parent_id="0" * 32)

    def test_missing_run_is_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound) as info:
            store.get_run("f" * 32)
        assert isinstance(info.value, LookupError) and info.value.kind == "run"

    def test_invalid_names_and_keys_are_rejected(self, store: Store) -> None:
        with pytest.raises(InvalidInput):
            store.create_run(name="")
        run = store.create_run(name="r")
        with pytest.raises(InvalidInput):
            store.log_params(run.id, {"": "x"})
        with pytest.raises(InvalidInput):
            store.log_metrics(run.id, [Metric("k" * 300, 1.0)])
        assert store.metric_history(run.id, "k" * 300) == []

    def test_list_runs_newest_first_with_filter_and_paging(self, store: Store) -> None:
        ids = [store.create_run(name=f"run-{i}").id for i in range(5)]
        store.set_run_status(ids[0], RunStatus.FAILED, error="boom")
        listed = [r.id for r in store.list_runs()]
        assert listed == list(reversed(ids))
        assert [r.id for r in store.list_runs(limit=2, offset=1)] == [ids[3], ids[2]]
        failed = store.list_runs(status=RunStatus.FAILED)
        assert [r.id for r in failed] == [ids[0]] and failed[0].error == "boom"

    def test_terminal_status_stamps_end_time(self, store: Store) -> None:
        run = store.create_run(name="r")
        done = store.set_run_status(run.id, RunStatus.FINISHED)
        assert done.status is RunStatus.FINISHED
        assert done.ended_at_ms is not None and done.ended_at_ms >= run.created_at_ms
        with pytest.raises(NotFound):
            store.set_run_status("e" * 32, RunStatus.FINISHED)

    def test_params_are_set_once(self, store: Store) -> None:
        run = store.create_run(name="r", params={"a": "1"})
        store.log_params(run.id, {"a": "1", "b": "2"})
        with pytest.raises(Conflict) as info:
            store.log_params(run.id, {"b": "2", "a": "3"})
        assert "'a'" in str(info.value) and "'3'" in str(info.value)
        assert store.get_run(run.id).params == {"a": "1", "b": "2"}

    def test_tags_overwrite(self, store: Store) -> None:
        run = store.create_run(name="r", tags={"stage": "dev"})
        store.set_tags(run.id, {"stage": "prod", "owner": "ana"})
        assert store.get_run(run.id).tags == {"stage": "prod", "owner": "ana"}

    def test_metric_values_round_trip(self, store: Store) -> None:
        run = store.create_run(name="r")
        values = [0.5, math.nan, math.inf, -math.inf, 1e308, -1e-308, 0.0]
        points = [Metric("loss/ünï", v, step, 1000 + step) for step, v in enumerate(values)]
        store.log_metrics(run.id, points)
        back = store.metric_history(run.id, "loss/ünï")
        assert len(back) == len(points)
        assert all(a.same_as(b) for a, b in zip(back, points, strict=True))

    def test_metric_history_is_ordered_by_step(self, store: Store) -> None:
        run = store.create_run(name="r")
        store.log_metrics(run.id, [Metric("m", float(s), s, 5) for s in (3, 1, 2)])
        store.log_metrics(run.id, [Metric("m", 0.0, 0, 9)])
        assert [m.step for m in store.metric_history(run.id, "m")] == [0, 1, 2, 3]

    def test_many_metric_keys(self, store: Store) -> None:
        run = store.create_run(name="r")
        store.log_metrics(run.id, [Metric(f"k{i}", float(i), 0, 1) for i in range(2000)])
        assert store.metric_history(run.id, "k1999")[0].value == 1999.0

    def test_metrics_for_missing_run(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.log_metrics("d" * 32, [Metric("m", 1.0)])

    # lineage ----------------------------------------------------------------------------
    def test_lineage_walks_both_ways(self, store: Store) -> None:
        store.add_edges(
            [
                _edge("dataset_version:d1", "run:r1", "input"),
                _edge("run:r1", "model_version:m1", "produced"),
                _edge("model_version:m1", "deployment:p1", "deployed"),
            ]
        )
        down = store.downstream(ObjectRef.parse("dataset_version:d1"))
        assert [(n.depth, str(n.edge.dst)) for n in down] == [
            (1, "run:r1"),
            (2, "model_version:m1"),
            (3, "deployment:p1"),
        ]
        up = store.upstream(ObjectRef.parse("deployment:p1"), depth=2)
        assert [str(n.edge.src) for n in up] == ["model_version:m1", "run:r1"]

    def test_lineage_edges_are_idempotent(self, store: Store) -> None:
        edge = _edge("run:a", "artifact:b")
        store.add_edges([edge, edge])
        store.add_edges([edge])
        assert len(store.downstream(edge.src)) == 1

    def test_lineage_diamond_reports_shortest_depth(self, store: Store) -> None:
        store.add_edges(
            [
                _edge("run:a", "run:b"),
                _edge("run:a", "run:c"),
                _edge("run:b", "run:c"),
                _edge("run:c", "run:d"),
            ]
        )
        nodes = store.downstream(ObjectRef("run", "a"))
        assert [n.depth for n in nodes] == sorted(n.depth for n in nodes)
        nearest: dict[str, int] = {}
        for node in nodes:
            nearest.setdefault(str(node.edge.dst), node.depth)
        assert nearest == {"run:b": 1, "run:c": 1, "run:d": 2}
        assert len(nodes) == 4

    def test_lineage_cycles_terminate(self, store: Store) -> None:
        store.add_edges([_edge("run:x", "run:y"), _edge("run:y", "run:x")])
        nodes = store.downstream(ObjectRef("run", "x"), depth=50)
        assert {(str(n.edge.src), n.depth) for n in nodes} == {("run:x", 1), ("run:y", 2)}

    def test_lineage_depth_is_validated(self, store: Store) -> None:
        with pytest.raises(InvalidInput):
            store.upstream(ObjectRef("run", "x"), depth=0)

    def test_unknown_object_has_no_lineage(self, store: Store) -> None:
        assert store.upstream(ObjectRef("run", "nothing")) == []
