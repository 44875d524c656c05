"""Garbage collection frees exactly what no record refers to, and every record reads back."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import loopml
from loopml.artifacts import ArtifactStore
from loopml.config import Settings
from loopml.data import DataRepo, get_schema, infer_schema, save_schema
from loopml.errors import CheckFailed, InvalidInput
from loopml.maintenance import collect_garbage, live_digests
from loopml.models import load_model
from loopml.pipelines import LocalExecutor, run_pipeline
from loopml.registry import register_model
from loopml.store import Store, open_store
from loopml.store.sql import SqlStore
from loopml.tracking import TrackingClient
from tests.pipelines.steps import arithmetic

TWO_HOURS = 7200.0


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = open_store(settings)
    yield opened
    opened.close()


@pytest.fixture
def artifacts(settings: Settings) -> ArtifactStore:
    return ArtifactStore(settings.artifact_url, fsync=False)


@pytest.fixture
def repo(store: Store, artifacts: ArtifactStore, settings: Settings) -> DataRepo:
    return DataRepo(store, artifacts, settings.home / "cache")


def _files(folder: Path, count: int, prefix: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{prefix}{i:03d}.txt"
        path.write_bytes(f"{prefix} file {i}\n".encode() * 40)
        paths.append(path)
    return paths


def _age_everything(artifacts: ArtifactStore) -> None:
    """Make every object of a local store look written two hours ago."""
    root = Path(artifacts.url)
    then = time.time() - TWO_HOURS
    for path in [*(root / "objects").glob("*/*"), *(root / "packs").glob("*.idx")]:
        os.utime(path, (then, then))


def _frame(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 2))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": (x[:, 0] + x[:, 1] > 0).astype(int)})


def test_gc_frees_only_unreferenced_old_objects_and_everything_reads_back(
    settings: Settings, store: Store, artifacts: ArtifactStore, repo: DataRepo, tmp_path: Path
) -> None:
    # Data: two versions (the first's changed file is still referenced) and a schema.
    files = _files(tmp_path / "files", 20, "f")
    v1 = repo.commit("files", tmp_path / "files")
    files[0].write_text("changed\n")
    v2 = repo.commit("files", tmp_path / "files")
    frame = _frame()
    frame.to_csv(tmp_path / "table.csv", index=False)
    repo.commit("tables", tmp_path / "table.csv")
    save_schema("tables@main", infer_schema("tables@main", repo=repo), repo=repo)
    # A pack half of whose objects a dataset refers to: gc must rewrite it, keeping those.
    mixed = _files(tmp_path / "mixed", 20, "m")
    artifacts.put_many(mixed)
    for path in mixed[10:]:
        path.unlink()
    repo.commit("mixed", tmp_path / "mixed")
    pack_orphans = {
        hashlib.sha256(f"m file {i}\n".encode() * 40).hexdigest() for i in range(10, 20)
    }
    # Runs: files and a model; a soft-deleted run keeps its files until `runs gc`.
    client = TrackingClient(store, artifacts, capture_environment=False)
    model = LogisticRegression().fit(frame[["a", "b"]], frame["y"])
    with client.start_run("train") as run:
        run.log_text("notes of a kept run", "notes.txt")
        info = run.log_model(model, "model", input_example=frame[["a", "b"]].head(3))
    with client.start_run("deleted") as gone:
        gone.log_text("only a deleted run has this", "scratch.txt")
        gone.log_artifact(files[5], "same-bytes-as-a-dataset-file.txt")
    client.delete_runs([gone.id])
    # Models: one from the run, one registered from the object (files only the registry has).
    from_run = register_model("m", info.uri, store=store, artifacts=artifacts, actor="ana")
    from_object = register_model(
        "m2", model, input_example=frame[["a", "b"]].head(3), store=store, artifacts=artifacts
    )
    # An evaluation report and a pipeline's step outputs.
    report = loopml.evaluate(
        "models:/m/1",
        frame,
        "y",
        robustness=False,
        infra=False,
        analysis=False,
        leakage=False,
        record=True,
        store=store,
        artifacts=artifacts,
    )
    piped = run_pipeline(
        arithmetic, {"n": 4}, executor=LocalExecutor(max_workers=1), store=store, settings=settings
    )
    # Orphans: an old loose one, an old one stored again (freshened), a recent one.
    old_orphan = artifacts.put(b"an interrupted write left me behind")
    restored = artifacts.put(b"stored again by a concurrent writer")
    _age_everything(artifacts)
    assert artifacts.put(b"stored again by a concurrent writer") == restored
    recent = artifacts.put(b"written a moment ago")
    before = {o.digest: o for o in artifacts.inventory()}

    dry = collect_garbage(store, artifacts, dry_run=True)
    assert set(dry.freed) == {old_orphan, *pack_orphans} and dry.dry_run
    assert {o.digest for o in artifacts.inventory()} == set(before), "a dry run deletes nothing"

    done = collect_garbage(store, artifacts)
    assert set(done.freed) == {old_orphan, *pack_orphans}
    assert done.bytes_freed == sum(before[d].size for d in done.freed) > 0
    assert (done.recent, done.objects, done.referenced) == (2, len(before), len(before) - 13)
    left = {o.digest for o in artifacts.inventory()}
    assert left == set(before) - set(done.freed) and {recent, restored} <= left

    # Every version, run file, model, schema, report and step output reads back verified.
    for ref in (f"files@{v1.id}", f"files@{v2.id}", "tables@main", "mixed@main"):
        dest = tmp_path / "out" / ref.replace("@", "_")
        checked = repo.checkout(ref, dest, link=False)
        assert checked.files == len(repo.manifest(ref).files)
    assert (tmp_path / "out" / f"files_{v1.id}" / "f000.txt").read_bytes() == b"f file 0\n" * 40
    for kept in (run, gone):
        for artifact in client.list_artifacts(kept.id):
            assert hashlib.sha256(client.read_artifact(kept.id, artifact.path)).hexdigest() == (
                artifact.digest
            )
    for uri in (info.uri, "models:/m/1", "models:/m2/1"):
        loaded = load_model(uri, store=store, artifacts=artifacts, cache_dir=tmp_path / uri[:6])
        assert (loaded.predict(frame[["a", "b"]]) == model.predict(frame[["a", "b"]])).all()
    assert from_run.number == from_object.number == 1
    assert get_schema("tables", repo=repo).columns
    evaluation = store.get_evaluation(str(report.evaluation_id))
    assert artifacts.get(str(evaluation.report_digest))
    assert piped.output("summary") == {"rows": 4, "total": 14}
    assert set(collect_garbage(store, artifacts, grace_s=0).freed) == {recent, restored}

    # `runs gc` purges the deleted run and frees what only it had, not the dataset's bytes.
    purged = client.gc()
    assert purged.freed == [hashlib.sha256(b"only a deleted run has this").hexdigest()]
    repo.checkout(f"files@{v2.id}", tmp_path / "again", link=False)
    assert collect_garbage(store, artifacts, grace_s=0).freed == ()
    client.close()


def test_storing_present_bytes_again_freshens_them(
    store: Store, artifacts: ArtifactStore, tmp_path: Path
) -> None:
    loose = artifacts.put(b"loose bytes")
    packed_files = _files(tmp_path / "packed", 16, "p")
    packed = artifacts.put_many(packed_files)
    _age_everything(artifacts)
    assert all(o.modified_s < time.time() - 3600 for o in artifacts.inventory())
    artifacts.put(b"loose bytes")
    artifacts.put_many(packed_files[:1])  # found in its pack: the pack is freshened
    fresh = {o.digest for o in artifacts.inventory() if o.modified_s > time.time() - 60}
    assert {loose, *packed} == fresh
    report = collect_garbage(store, artifacts)
    assert report.freed == () and report.recent == 17


def test_an_unreadable_manifest_stops_gc_before_it_deletes_anything(
    store: Store, artifacts: ArtifactStore, repo: DataRepo, tmp_path: Path
) -> None:
    (tmp_path / "one.txt").write_text("one")
    version = repo.commit("one", tmp_path / "one.txt")
    orphan = artifacts.put(b"orphan")
    artifacts.delete(version.manifest_digest)
    with pytest.raises(CheckFailed, match=f"dataset version {version.id}") as caught:
        collect_garbage(store, artifacts, grace_s=0)
    assert "nothing was deleted" in caught.value.message
    assert artifacts.exists(orphan)
    with pytest.raises(InvalidInput):
        collect_garbage(store, artifacts, grace_s=-1)


def test_gc_on_an_fsspec_store(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'mem.db'}")
    artifacts = ArtifactStore("memory://gc-test/artifacts")
    repo = DataRepo(store, artifacts, tmp_path / "cache")
    (tmp_path / "kept.txt").write_text("kept")
    version = repo.commit("kept", tmp_path / "kept.txt")
    orphan = artifacts.put(b"nobody refers to me")
    assert orphan not in live_digests(store, artifacts)
    assert collect_garbage(store, artifacts).freed == ()  # written just now: within grace
    assert collect_garbage(store, artifacts, dry_run=True, grace_s=0).freed == (orphan,)
    assert collect_garbage(store, artifacts, grace_s=0).freed == (orphan,)
    assert not artifacts.exists(orphan)
    repo.checkout(f"kept@{version.id}", tmp_path / "out")
    assert (tmp_path / "out" / "kept.txt").read_text() == "kept"
    store.close()
