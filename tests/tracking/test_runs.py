"""Runs through the tracking client: life cycle, what a run records, artifacts, queries."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

import loopml
from loopml.entities import RunStatus
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.ids import ObjectRef
from loopml.tracking import TrackingClient, active_run, start_run, use_tracking


def test_context_manager_statuses(client: TrackingClient) -> None:
    with client.start_run("ok") as run:
        run.log_metric("m", 1.0)
    assert client.get_run(run.id).status is RunStatus.FINISHED
    with pytest.raises(ZeroDivisionError), client.start_run("boom") as failed:
        _ = 1 / 0
    record = client.get_run(failed.id)
    assert record.status is RunStatus.FAILED and "ZeroDivisionError" in (record.error or "")
    with pytest.raises(KeyboardInterrupt), client.start_run("ctrl-c") as killed:
        raise KeyboardInterrupt
    assert client.get_run(killed.id).status is RunStatus.KILLED


def test_nested_runs_and_context_var(client: TrackingClient) -> None:
    with use_tracking(client):
        assert active_run() is None
        with start_run("outer") as outer:
            assert active_run() is outer
            with start_run("inner") as inner:
                assert active_run() is inner
            assert active_run() is outer
            with start_run("top", nested=False) as top:
                pass
        assert active_run() is None
    assert client.get_run(inner.id).parent_id == outer.id
    assert client.get_run(top.id).parent_id is None
    assert [r.id for r in client.search_runs(parent_id=outer.id)] == [inner.id]


def test_params_are_set_once(client: TrackingClient) -> None:
    with client.start_run("p", params={"C": 1.0, "model": "rf"}) as run:
        run.log_params({"C": 1.0, "depth": 3})
        with pytest.raises(Conflict) as info:
            run.log_param("C", 2.0)
        assert "'C'" in info.value.message and "2.0" in info.value.message
    assert client.get_run(run.id).params == {"C": "1.0", "model": "rf", "depth": "3"}


def test_metric_values_keys_and_steps(client: TrackingClient) -> None:
    with client.start_run("m") as run:
        for value in (math.nan, math.inf, -math.inf, 1e308, -1e-308, 3):
            run.log_metric("v", value)
        run.log_metric("ünï/köy ✓", 1.0)
        for i in range(10_000):
            run.log_metric(f"k{i}", float(i), step=0)
        run.log_metric("explicit", 1.0, step=100)
        run.log_metric("explicit", 2.0)  # continues after 100
        for bad_key in ("", "x" * 256, 3):
            with pytest.raises(InvalidInput):
                run.log_metric(bad_key, 1.0)  # type: ignore[arg-type]
        for bad_value in ("0.5", None, True, [1]):
            with pytest.raises(InvalidInput):
                run.log_metric("v", bad_value)  # type: ignore[arg-type]
    history = client.metric_history(run.id, "v")
    assert [m.step for m in history] == list(range(6))
    assert math.isnan(history[0].value) and history[1].value == math.inf
    assert history[3].value == 1e308 and history[5].value == 3.0
    assert client.metric_history(run.id, "ünï/köy ✓")[0].value == 1.0
    assert client.metric_history(run.id, "k9999")[0].value == 9999.0
    assert [m.step for m in client.metric_history(run.id, "explicit")] == [100, 101]
    assert len(client.metric_summaries([run.id])) == 10_003
    with pytest.raises(InvalidInput):
        run.log_metric("late", 1.0)


def test_sync_mode_is_durable_per_call(client: TrackingClient, tmp_path: Path) -> None:
    with client.start_run("s", sync=True) as run:
        run.log_metric("m", 1.0)
        other = TrackingClient(client.store)  # a second reader sees it at once
        assert len(other.metric_history(run.id, "m")) == 1


def test_tags_notes_and_environment(
    client: TrackingClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    (repo / "train.py").write_text("print(2)\n")
    monkeypatch.chdir(repo)
    with client.start_run("env", tags={"team": "risk"}, notes="first try") as run:
        run.set_tag("stage", "dev")
        run.set_notes("second try")
    record = client.get_run(run.id)
    assert record.tags["team"] == "risk" and record.tags["stage"] == "dev"
    assert record.notes == "second try"
    assert len(record.tags["loopml.git.commit"]) == 40
    assert record.tags["loopml.git.branch"] == "main" and record.tags["loopml.git.dirty"] == "true"
    assert len(record.tags["loopml.git.diff_digest"]) == 64
    for key in ("loopml.python", "loopml.platform", "loopml.command", "loopml.user"):
        assert record.tags[key]
    requirements = client.read_artifact(run.id, "environment/requirements.txt").decode()
    assert "sqlalchemy==" in requirements


def test_artifacts_files_folders_and_models(client: TrackingClient, tmp_path: Path) -> None:
    folder = tmp_path / "report"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("bb")
    frame = pd.DataFrame({"amount": [1.5, 2.0, 3.0, 0.5], "country": ["FR", "DE", "FR", "DE"]})
    model = make_pipeline(
        ColumnTransformer([("c", OrdinalEncoder(), ["country"])], remainder="passthrough"),
        LogisticRegression(),
    ).fit(frame, [0, 1, 1, 0])
    with client.start_run("files") as run:
        run.log_artifact(folder)
        run.log_artifact(folder / "a.txt", "single/a.txt")
        run.log_dict({"x": 1}, "meta.json")
        info = run.log_model(model, "fraud", input_example=frame)
        with pytest.raises(InvalidInput):
            run.log_artifact(tmp_path / "missing")
    paths = [a.path for a in client.list_artifacts(run.id)]
    assert {"report/a.txt", "report/sub/b.txt", "single/a.txt", "meta.json"} <= set(paths)
    assert {"fraud/loopml-model.json", "fraud/model.skops", "fraud/input_example.json"} <= set(
        paths
    )
    assert info.uri == f"runs:/{run.id}/fraud" and info.flavor == "sklearn"
    by_path = {a.path: a.digest for a in info.artifacts}
    assert by_path["fraud/loopml-model.json"] == info.manifest_digest
    loaded = client.load_model(run.id, "fraud")
    assert loaded.digest == info.manifest_digest
    assert (loaded.predict(frame) == model.predict(frame)).all()
    manifest = json.loads(client.read_artifact(run.id, "fraud/loopml-model.json"))
    assert manifest["signature"]["inputs"] == [
        {"name": "amount", "dtype": "float64"},
        {"name": "country", "dtype": "string"},
    ]
    assert manifest["files"]["model.skops"]["sha256"] == by_path["fraud/model.skops"]
    written = client.download_artifacts(run.id, tmp_path / "out", prefix="report")
    assert sorted(p.read_text() for p in written) == ["a", "bb"]
    with pytest.raises(NotFound):
        client.read_artifact(run.id, "nope.txt")


def test_log_input_records_lineage(client: TrackingClient) -> None:
    with client.start_run("reads") as run:
        run.log_input("dataset_version:0193abc")
    up = loopml.lineage.upstream(ObjectRef("run", run.id), store=client.store)
    assert [(str(n.edge.src), n.edge.relation) for n in up] == [
        ("dataset_version:0193abc", "input")
    ]


def test_resume_continues_steps(client: TrackingClient) -> None:
    with client.start_run("r") as run:
        run.log_metric("loss", 1.0)
        run.log_metric("loss", 0.5)
    with client.start_run(resume=run.id) as again:
        again.log_metric("loss", 0.25)
    assert [m.step for m in client.metric_history(run.id, "loss")] == [0, 1, 2]
    assert client.get_run(run.id).status is RunStatus.FINISHED
    with pytest.raises(NotFound):
        client.start_run(resume="0" * 32)


def test_system_metrics(client: TrackingClient) -> None:
    with client.start_run("sys", system_metrics=0.05) as run:
        sum(range(200_000))
    keys = {s.key for s in client.metric_summaries([run.id])}
    assert {"system/cpu_percent", "system/process_rss_mb", "system/memory_percent"} <= keys
    assert {"system/disk_read_mb", "system/network_sent_mb"} <= keys
    rss = client.metric_history(run.id, "system/process_rss_mb")
    assert len(rss) >= 2 and all(m.value > 1 for m in rss)


def test_search_compare_delete_gc(client: TrackingClient) -> None:
    ids = []
    for i, model in enumerate(["rf", "rf", "lr"]):
        with client.start_run(
            f"r{i}", params={"model": model, "C": i}, tags={"team": "risk"}
        ) as run:
            run.log_text(f"only {i}", "note.txt")
            run.log_text("shared", "shared.txt")
            for step in range(3):
                run.log_metric("auc", 0.5 + 0.1 * i + 0.01 * step)
        ids.append(run.id)
    found = client.search_runs(
        "metrics.auc > 0.6 and params.model = 'rf'", order_by="metrics.auc desc"
    )
    assert [r.id for r in found] == [ids[1]]
    assert client.count_runs("tags.team = 'risk'") == 3
    with pytest.raises(InvalidInput):
        client.search_runs("metrics.auc >>> 1")
    comparison = client.compare(ids)
    assert comparison.differing_params == ["C", "model"]
    assert comparison.metrics["auc"][ids[2]].max == pytest.approx(0.72)
    assert comparison.metrics["auc"][ids[0]].count == 3
    client.delete_runs([ids[0]])
    assert ids[0] not in [r.id for r in client.search_runs()]
    report = client.gc()
    assert len(report.freed) == 1 and report.bytes_freed == len("only 0")
    assert client.artifacts is not None and not client.artifacts.exists(report.freed[0])
    assert client.read_artifact(ids[1], "shared.txt") == b"shared"
