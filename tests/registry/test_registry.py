"""Registering versions, automatic semantic versions, aliases and their history."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN
from loopml.entities import RunStatus
from loopml.errors import Conflict, DigestMismatch, InvalidInput, NotFound, PermissionDenied
from loopml.ids import ObjectRef
from loopml.models import load_model, save_model
from loopml.registry import (
    Actor,
    VersionFacts,
    alias_history,
    bump_for,
    delete_alias,
    get_version,
    register_model,
    rollback,
    set_alias,
    set_promotion_policy,
)
from tests.registry.conftest import fraud_pipeline

ANA = Actor("ana", ("approver",))


def test_register_from_object_and_load_by_uri(store, artifacts, fraud_model, fraud_data, tmp_path):
    _, test = fraud_data
    X = test[list(FEATURE_COLUMNS)]
    run = store.create_run(name="train")
    store.set_run_status(run.id, RunStatus.FINISHED)
    v1 = register_model(
        "fraud",
        fraud_model,
        input_example=X.head(),
        run_id=run.id,
        store=store,
        artifacts=artifacts,
        actor=ANA,
    )
    assert (v1.number, v1.semver, v1.flavor, v1.run_id) == (1, "1.0.0", "sklearn", run.id)
    model = load_model(
        "models:/fraud/1", store=store, artifacts=artifacts, cache_dir=tmp_path / "c"
    )
    np.testing.assert_array_equal(model.predict_proba(X), fraud_model.predict_proba(X))
    up = store.upstream(ObjectRef("model_version", v1.id))
    assert {(str(n.edge.src), n.edge.relation) for n in up} >= {
        (f"run:{run.id}", "produced"),
        (f"artifact:{v1.manifest_digest}", "stored_as"),
    }
    set_alias("fraud", "champion", 1, store=store, actor=ANA)
    again = load_model(
        "models:/fraud@champion", store=store, artifacts=artifacts, cache_dir=tmp_path / "c"
    )
    assert again.digest == v1.manifest_digest
    assert get_version("fraud/1.0.0", store=store).id == v1.id
    assert get_version("fraud/latest", store=store).id == v1.id


def test_semantic_versions_follow_what_changed(store, artifacts, fraud_data, tmp_path):
    train, test = fraud_data
    cols = list(FEATURE_COLUMNS)
    X, y = train[cols], train[TARGET_COLUMN]
    kw = {"store": store, "artifacts": artifacts, "actor": ANA}
    first = save_model(fraud_pipeline(cols).fit(X, y), tmp_path / "a", input_example=X.head())
    assert register_model("m", first.path, **kw).semver == "1.0.0"
    retrained = save_model(
        fraud_pipeline(cols, C=0.1).fit(X, y), tmp_path / "b", input_example=X.head()
    )
    assert register_model("m", retrained.path, **kw).semver == "1.1.0"
    assert register_model("m", retrained.path, description="same bytes", **kw).semver == "1.1.1"
    fewer = cols[:-2]
    changed = save_model(
        fraud_pipeline(fewer).fit(train[fewer], y),
        tmp_path / "c",
        input_example=train[fewer].head(),
    )
    assert register_model("m", changed.path, **kw).semver == "2.0.0"
    assert register_model("m", changed.path, version="7.0.0", **kw).semver == "7.0.0"
    # The very same registration again is that version (idempotent); other bytes under a
    # version already used are refused.
    assert register_model("m", changed.path, version="7.0.0", **kw).number == 5
    with pytest.raises(Conflict):
        register_model("m", first.path, version="7.0.0", **kw)
    assert [v.number for v in store.list_model_versions("m")] == [5, 4, 3, 2, 1]


def test_bump_rules_are_pure():
    base = VersionFacts("s", "C", "p")
    assert bump_for(None, base) is None
    assert bump_for(base, VersionFacts("s2", "C", "p")) == "major"
    assert bump_for(base, VersionFacts("s", "D", "p")) == "major"
    assert bump_for(base, VersionFacts("s", "C", "p2")) == "minor"
    assert bump_for(base, base) == "patch"


def test_tampered_registered_model_is_refused(store, artifacts, fraud_model, tmp_path):
    v = register_model("fraud", fraud_model, store=store, artifacts=artifacts, actor=ANA)
    cache = tmp_path / "cache"
    path = load_model("models:/fraud/1", store=store, artifacts=artifacts, cache_dir=cache).path
    target = path / "model.skops"
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    # The damaged cache is rebuilt from the verified store; a damaged store object is refused.
    assert (
        load_model("models:/fraud/1", store=store, artifacts=artifacts, cache_dir=cache).digest
        == v.manifest_digest
    )
    from loopml.models import Manifest

    manifest = Manifest.from_json(artifacts.get(v.manifest_digest), "m")
    blob = (
        Path(artifacts.url)
        / "objects"
        / manifest.files["model.skops"].sha256[:2]
        / manifest.files["model.skops"].sha256[2:]
    )
    raw = bytearray(blob.read_bytes())
    raw[100] ^= 0xFF
    blob.write_bytes(bytes(raw))
    with pytest.raises(DigestMismatch):
        load_model(
            "models:/fraud/1", store=store, artifacts=artifacts, cache_dir=tmp_path / "fresh"
        )


def test_alias_moves_history_and_rollback(store, artifacts, fraud_model, weak_model):
    kw = {"store": store, "actor": ANA}
    for model in (fraud_model, weak_model, fraud_model):
        register_model(
            "fraud",
            model,
            version=None if model is weak_model else None,
            store=store,
            artifacts=artifacts,
            actor=ANA,
        )
    set_alias("fraud", "champion", 1, reason="first", **kw)
    set_alias("fraud", "champion", 2, reason="better", **kw)
    set_alias("fraud", "challenger", 3, **kw)
    assert store.get_alias("fraud", "champion").number == 2
    back = rollback("fraud", "champion", reason="regression in prod", **kw)
    assert (back.from_version, back.to_version) == (2, 1)
    history = alias_history("fraud", "champion", store=store)
    assert [(m.from_version, m.to_version, m.reason) for m in history] == [
        (None, 1, "first"),
        (1, 2, "better"),
        (2, 1, "regression in prod"),
    ]
    delete_alias("fraud", "challenger", **kw)
    with pytest.raises(NotFound):
        store.get_alias("fraud", "challenger")
    with pytest.raises(NotFound):
        rollback("fraud", "never", **kw)
    with pytest.raises(InvalidInput):
        set_alias("fraud", "3bad", 1, **kw)
    set_promotion_policy("fraud", "champion", **kw)
    with pytest.raises(PermissionDenied, match="guarded"):
        set_alias("fraud", "champion", 3, **kw)
    with pytest.raises(PermissionDenied):
        rollback("fraud", "champion", store=store, actor=Actor("eve"))
    events = [e.action for e in store.list_model_events("fraud")]
    assert events[0] == "create_model" and "set_alias" in events and "set_policy" in events


def test_concurrent_alias_moves_keep_a_consistent_history(tmp_path, artifacts, fraud_model):
    from loopml.store.sql import SqlStore

    url = f"sqlite:///{tmp_path / 'c.db'}"
    with SqlStore(url) as db:
        for _ in range(3):
            register_model("fraud", fraud_model, store=db, artifacts=artifacts, actor=ANA)
    errors: list[BaseException] = []

    def mover(worker: int) -> None:
        try:
            with SqlStore(url) as db:
                for i in range(15):
                    db.set_alias("fraud", "champion", 1 + (worker + i) % 3, actor=f"w{worker}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=mover, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with SqlStore(url) as db:
        history = db.alias_history("fraud", "champion")
        assert len(history) == 60
        assert history[0].from_version is None
        for before, after in zip(history, history[1:], strict=False):
            assert after.from_version == before.to_version
        assert db.get_alias("fraud", "champion").number == history[-1].to_version


def test_bad_registry_inputs(store, artifacts, fraud_model, tmp_path):
    kw = {"store": store, "artifacts": artifacts, "actor": ANA}
    with pytest.raises(InvalidInput):
        register_model("bad name!", fraud_model, **kw)
    with pytest.raises(NotFound):
        register_model("fraud", fraud_model, run_id="0" * 32, **kw)
    with pytest.raises(InvalidInput):
        register_model("fraud", tmp_path / "nothing", **kw)
    with pytest.raises(NotFound):
        get_version("fraud/9", store=store)
    with pytest.raises(InvalidInput):
        get_version("fraud", store=store)
