"""The chain's training step as a pipeline run: parameters from the event, lineage from
the alert through the pipeline run to the model, and a cached re-run naming the same
version."""

from __future__ import annotations

from pathlib import Path

import pytest

import loopml
from loopml import data, lineage, registry, triggers
from loopml.ids import ObjectKind, ObjectRef
from tests.triggers import loop_helpers
from tests.triggers.test_chain import _action

PIPE = "tests.triggers.loop_pipeline:retrain"


def test_pipeline_trains_on_the_newest_version_and_a_cached_rerun_names_it_again(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "tx.parquet"
    loop_helpers.frame(3, rows=600).to_parquet(path)
    data.commit("tx", path)
    loop_helpers.frame(4, rows=800).to_parquet(path)
    data.commit("tx", path)
    action = _action(tmp_path, pipeline=PIPE, dataset="tx@main", data_param="data")
    action.pop("train")
    action["params"] = {"gates": str(tmp_path / "gates.yaml")}
    triggers.add_trigger("piped", "manual", "fraud", action=action)
    fired = triggers.fire("piped", alert="alert-9")
    result = triggers.run_chain(fired.chain_id or "")
    assert result.outcome == "promoted", result.events
    run_id = result.output("pipeline_run")
    made = loop_ws.store.get_pipeline_run(run_id)
    assert made.params["data"] == "tx@v2" and made.status.value == "COMPLETED"
    champion = registry.get_version("fraud@champion")
    assert champion.number == result.output("candidate") == 2
    assert loop_ws.store.get_run(champion.run_id or "").params["data"] == "tx@v2"
    # why is it in production: alert -> trigger event -> pipeline run -> step -> run -> model
    up = lineage.upstream(ObjectRef(ObjectKind.MODEL_VERSION, champion.id))
    edges = {(n.edge.src.kind, n.edge.dst.kind) for n in up}
    assert {
        ("alert", "trigger_event"),
        ("trigger_event", "pipeline_run"),
        ("pipeline_run", "step_run"),
        ("step_run", "run"),
        ("run", "model_version"),
    } <= edges

    before = triggers.readiness("models:/fraud@champion")
    item = next(i for i in before.items if i.name.startswith("pipeline reproducible"))
    assert not item.ok and "was not re-run" in item.evidence

    # a second chain on the same version: every step comes from the cache, and the
    # candidate is the version the cached steps made (no duplicate registration)
    again = {k: v for k, v in action.items() if k not in ("deployment", "rollout", "steps")}
    triggers.add_trigger("piped-again", "manual", "fraud", action=again)
    second = triggers.run_chain(triggers.fire("piped-again").chain_id or "")
    assert second.output("candidate") == 2, second.events
    rerun = loop_ws.store.list_step_runs(second.output("pipeline_run"))
    assert {s.status.value for s in rerun} == {"CACHED"}
    assert [v.number for v in registry.list_versions("fraud")] == [2, 1]
    ready = triggers.readiness("models:/fraud@champion")
    item = next(i for i in ready.items if i.name.startswith("pipeline reproducible"))
    assert item.ok and "2/2 steps" in item.evidence


@pytest.mark.dask
def test_the_chain_runs_its_training_pipeline_on_the_dask_executor(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    pytest.importorskip("distributed")
    from loopml.pipelines import DaskExecutor

    path = tmp_path / "tx.parquet"
    loop_helpers.frame(5, rows=600).to_parquet(path)
    data.commit("tx", path)
    action = _action(tmp_path, pipeline=PIPE, dataset="tx@main", data_param="data")
    action.pop("train")
    action["params"] = {"gates": str(tmp_path / "gates.yaml")}
    triggers.add_trigger("on-dask", "manual", "fraud", action=action)
    chain = triggers.fire("on-dask").chain_id or ""
    executor = DaskExecutor(n_workers=1)
    try:
        result = triggers.run_chain(chain, executor=executor)
    finally:
        executor.close()
    assert result.outcome == "promoted", result.events
    made = loop_ws.store.get_pipeline_run(result.output("pipeline_run"))
    assert made.executor == "dask" and made.params["data"] == "tx@v1"
    assert registry.get_version("fraud@champion").number == result.output("candidate") == 2
