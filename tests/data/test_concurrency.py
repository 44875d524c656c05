"""Two processes commit to one branch of one home at the same moment, without ``expect=``.

The implicit compare-and-swap must let exactly one win; the other gets Conflict (CLI exit
2), and the store holds one new version on the branch and no orphan version row.

Determinism without sleeps: this test holds the SQLite write lock (``BEGIN IMMEDIATE``)
while both committers start. Reads are not blocked (WAL), so both read the same branch
head, store their objects and manifest, then wait for the lock in the version write. Once
both manifests are in the artifact store (each is written after its process read the
head), the lock is released and the two writes race for real.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loopml.artifacts import ArtifactStore
from loopml.data import DataRepo, Entry, Manifest
from loopml.store.sql import SqlStore
from tests.fixtures.cli import Cli

_SDK_CHILD = """
import json, sys
import loopml
from loopml.errors import Conflict
try:
    version = loopml.data.commit("ds", sys.argv[1], message=sys.argv[2])
except Conflict as exc:
    print(json.dumps({"conflict": str(exc), "hint": exc.hint}))
else:
    print(json.dumps({"won": version.id}))
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    return {**env, "COLUMNS": "200", "NO_COLOR": "1"}


def _manifest_digest(data: bytes) -> str:
    entry = Entry(hashlib.sha256(data).hexdigest(), len(data))
    return hashlib.sha256(Manifest({"x.txt": entry}).to_bytes()).hexdigest()


@pytest.mark.parametrize("via", ["sdk", "cli"])
def test_two_processes_commit_to_one_branch(cli: Cli, tmp_path: Path, via: str) -> None:
    (tmp_path / "x.txt").write_text("base")
    assert cli("data", "commit", "ds", "x.txt", "-m", "base").returncode == 0
    home = tmp_path / ".loopml"
    contents = {i: f"worker {i}".encode() for i in (1, 2)}
    for i, data in contents.items():
        (tmp_path / f"w{i}").mkdir()
        (tmp_path / f"w{i}" / "x.txt").write_bytes(data)
    artifacts = ArtifactStore(str(home / "artifacts"))
    lock = sqlite3.connect(home / "loopml.db", isolation_level=None, timeout=30)
    lock.execute("BEGIN IMMEDIATE")  # no commit can land until both have read the head
    procs = {}
    try:
        for i in contents:
            path, message = str(Path(f"w{i}") / "x.txt"), f"w{i}"
            args = (
                [sys.executable, "-c", _SDK_CHILD, path, message]
                if via == "sdk"
                else [sys.executable, "-m", "loopml", "data", "commit", "ds", path, "-m", message]
            )
            procs[i] = subprocess.Popen(
                args, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        waiting = {i: _manifest_digest(data) for i, data in contents.items()}
        deadline = time.monotonic() + 120  # a liveness guard, not a performance threshold
        while waiting and time.monotonic() < deadline:
            waiting = {i: d for i, d in waiting.items() if not artifacts.exists(d)}
            if any(p.poll() is not None for p in procs.values()):
                break
            time.sleep(0.02)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    outs = {i: p.communicate(timeout=120) for i, p in procs.items()}
    assert not waiting, f"a committer never reached the version write: {outs}"
    codes = {i: p.returncode for i, p in procs.items()}
    if via == "sdk":
        assert codes == {1: 0, 2: 0}, outs
        results = {i: json.loads(out) for i, (out, _) in outs.items()}
        winners = [i for i, r in results.items() if "won" in r]
        losers = [i for i, r in results.items() if "conflict" in r]
        assert len(winners) == 1 and len(losers) == 1, results
        message = results[losers[0]]["conflict"] + results[losers[0]]["hint"]
    else:
        assert sorted(codes.values()) == [0, 2], outs
        winners = [i for i, c in codes.items() if c == 0]
        losers = [i for i, c in codes.items() if c == 2]
        message = outs[losers[0]][1].decode()
        assert "Traceback" not in message
    assert "moved while committing" in message and "nothing was lost" in message

    with SqlStore(f"sqlite:///{home / 'loopml.db'}") as store:
        repo = DataRepo(store, artifacts, home / "cache")
        dataset = store.get_dataset("ds")
        versions = store.list_versions(dataset.id)
        assert [v.seq for v in versions] == [2, 1]  # one new version, no orphan row
        base, new = versions[1], versions[0]
        assert new.parents == (base.id,) and new.message == f"w{winners[0]}"
        assert repo.resolve("ds@main").id == new.id
        assert [r.name for r in store.list_refs(dataset.id)] == ["main"]
        with repo.open("ds@main") as reader:
            assert reader.read() == contents[winners[0]]
        # nothing was lost: the loser re-runs its commit on top of the winner
        retried = repo.commit("ds", tmp_path / f"w{losers[0]}" / "x.txt", message="retry")
        assert retried.parents == (new.id,) and retried.seq == 3
