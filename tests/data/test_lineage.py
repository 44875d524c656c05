"""Lineage of dataset versions: the runs and models that used each version show in the log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from loopml.data import DataRepo, record_use
from loopml.ids import ObjectRef
from loopml.registry import register_model
from loopml.tracking import TrackingClient


def test_log_shows_runs_and_models_per_version(repo: DataRepo, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x,y\n1,0\n2,1\n3,0\n4,1\n")
    v1 = repo.commit("tx", tmp_path / "a.csv", message="one")
    (tmp_path / "a.csv").write_text("x,y\n1,0\n2,1\n3,0\n4,1\n5,1\n")
    v2 = repo.commit("tx", tmp_path / "a.csv", message="two")
    client = TrackingClient(repo.store, repo.artifacts)
    try:
        run = client.start_run("train")
        edge = record_use("tx@v1", f"run:{run.id}", repo=repo)
        assert edge.src == ObjectRef("dataset_version", v1.id)
        model = LogisticRegression().fit(np.array([[1.0], [2.0], [3.0], [4.0]]), [0, 1, 0, 1])
        version = register_model(
            "fraud",
            model,
            run_id=run.id,
            input_example=np.array([[1.0]]),
            store=repo.store,
            artifacts=repo.artifacts,
            actor="tester",
        )
        run.end()
    finally:
        client.close()
    by_seq = {e.version.seq: e for e in repo.log("tx")}
    used = dict(by_seq[1].used_by)
    assert used[f"run:{run.id}"] == "input"
    assert used[f"model_version:{version.id}"] == "produced"
    assert by_seq[2].used_by == ()
    assert repo.log("tx@main")[1].version.id == v1.id  # ancestry of the branch
    assert v2.parents == (v1.id,)
    record_use(f"dataset_version:{v2.id}", ObjectRef("run", run.id), "validation", repo=repo)
    assert dict(repo.log("tx@v2")[0].used_by) == {
        f"run:{run.id}": "validation",
        f"model_version:{version.id}": "produced",  # downstream of that run, transitively
    }
