"""Registering a run's model by its runs:/ URI, and run gc never freeing a version's files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from loopml.datasets import FEATURE_COLUMNS
from loopml.ids import ObjectRef
from loopml.models import load_model
from loopml.registry import register_model
from loopml.tracking import TrackingClient


@pytest.fixture
def client(store, artifacts):
    tracking = TrackingClient(store, artifacts, capture_environment=False)
    yield tracking
    tracking.close()


def test_register_runs_uri_records_run_and_lineage(
    client, store, artifacts, fraud_model, fraud_data, tmp_path: Path
) -> None:
    _, test = fraud_data
    X = test[list(FEATURE_COLUMNS)]
    with client.start_run("train") as run:
        info = run.log_model(fraud_model, "fraud", input_example=X.head())
    version = register_model("fraud", info.uri, store=store, artifacts=artifacts, actor="ana")
    assert version.run_id == run.id and version.source == info.uri
    assert version.manifest_digest == info.manifest_digest
    up = store.upstream(ObjectRef("model_version", version.id), depth=1)
    relations = {(str(n.edge.src), n.edge.relation) for n in up}
    assert (f"run:{run.id}", "produced") in relations
    assert (f"artifact:{info.manifest_digest}", "stored_as") in relations
    files = {a.digest for a in info.artifacts if not a.path.endswith("loopml-model.json")}
    assert {f"artifact:{d}" for d in files} <= {src for src, rel in relations if rel == "file_of"}
    loaded = load_model(
        "models:/fraud/1", store=store, artifacts=artifacts, cache_dir=tmp_path / "cache"
    )
    assert (loaded.predict(X) == fraud_model.predict(X)).all()


def test_run_gc_keeps_the_files_a_registered_version_needs(
    client, store, artifacts, fraud_model, fraud_data, tmp_path: Path
) -> None:
    _, test = fraud_data
    X = test[list(FEATURE_COLUMNS)]
    with client.start_run("kept") as registered:
        info = registered.log_model(fraud_model, "fraud", input_example=X.head())
        registered.log_text("scratch notes", "notes.txt")
    with client.start_run("dropped") as dropped:
        lone = dropped.log_model(fraud_model, "other", options={"serialization": "pickle"})
    register_model("fraud", info.uri, store=store, artifacts=artifacts, actor="ana")
    model_blobs = {a.digest for a in info.artifacts}
    assert model_blobs <= {a.digest for a in client.list_artifacts(registered.id)}
    client.delete_runs([registered.id, dropped.id])
    report = client.gc()
    assert not model_blobs & set(report.freed)
    assert {a.digest for a in lone.artifacts} <= set(report.freed)  # nothing else needed them
    notes = hashlib.sha256(b"scratch notes").hexdigest()
    assert notes in report.freed and not artifacts.exists(notes)
    assert all(artifacts.exists(d) for d in model_blobs)
    loaded = load_model(
        "models:/fraud/1", store=store, artifacts=artifacts, cache_dir=tmp_path / "fresh"
    )
    assert (loaded.predict(X) == fraud_model.predict(X)).all()


def test_registering_the_same_runs_model_again_returns_its_version(
    client, store, artifacts, fraud_model, fraud_data, tmp_path: Path
) -> None:
    _, test = fraud_data
    X = test[list(FEATURE_COLUMNS)]
    gates = tmp_path / "gates.yaml"
    gates.write_text("metrics:\n  roc_auc: {min: 0.5}\n")
    with client.start_run("train") as run:
        info = run.log_model(fraud_model, "fraud", input_example=X.head())
    kw = {"gates": gates, "description": "first", "tags": {"team": "risk"}}
    first = register_model("fraud", info.uri, store=store, artifacts=artifacts, **kw)
    again = register_model("fraud", info.uri, store=store, artifacts=artifacts, **kw)
    assert again == first
    assert [v.number for v in store.list_model_versions("fraud")] == [1]
    same_semver = register_model(
        "fraud", info.uri, version="1.0.0", store=store, artifacts=artifacts, **kw
    )
    assert same_semver == first
    # Other gates or metadata, or the same bytes not from that run (a directory), make
    # new versions; the directory registered twice is one version.
    retold = register_model("fraud", info.uri, gates=gates, store=store, artifacts=artifacts)
    assert retold.semver == "1.0.1"  # same bytes, other metadata: a patch
    gates.write_text("metrics:\n  roc_auc: {min: 0.6}\n")
    regated = register_model("fraud", info.uri, gates=gates, store=store, artifacts=artifacts)
    from_directory = tmp_path / "model-dir"
    client.download_artifacts(run.id, from_directory, prefix="fraud")
    by_dir = register_model("fraud", from_directory / "fraud", store=store, artifacts=artifacts)
    by_dir_again = register_model(
        "fraud", from_directory / "fraud", store=store, artifacts=artifacts
    )
    assert by_dir_again == by_dir and by_dir.run_id is None
    assert [v.number for v in store.list_model_versions("fraud")] == [4, 3, 2, 1]
    assert regated.number == 3 and by_dir.number == 4
