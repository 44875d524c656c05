"""Ctrl-C during a real ``loopml data commit``: one line, exit 130, no empty dataset; gc
then frees what the interrupted commit had stored, and the versions before it still read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from loopml.artifacts import ArtifactStore
from loopml.store.sql import SqlStore
from tests.fixtures.cli import Cli

BIG = 5 << 20  # stored as loose objects, first, by the bulk put


def _folder(root: Path, big: int, small: int) -> Path:
    root.mkdir(parents=True)
    for i in range(big):
        (root / f"a_big_{i}.bin").write_bytes(os.urandom(BIG))
    (root / "s").mkdir()
    for i in range(small):
        (root / "s" / f"{i:05d}.bin").write_bytes(os.urandom(4096))
    return root


def _loose(home: Path) -> set[Path]:
    return set((home / "artifacts" / "objects").glob("*/*"))


def _interrupted_commit(home: Path, folder: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env.update({"NO_COLOR": "1", "COLUMNS": "200"})
    before = _loose(home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopml", "--home", str(home), "data", "commit", "big", str(folder)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A test earlier in the same worker may leave SIGINT ignored, and an ignored signal
        # stays ignored in a child: Ctrl-C must reach the CLI as it does in a terminal.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not _loose(home) - before and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)  # wait until it has stored its first object: work has started
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_interrupted_commit_leaves_no_dataset_and_gc_frees_its_objects(
    cli: Cli, tmp_path: Path
) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("the version that must survive\n")
    (kept / "table.csv").write_text("id,amount\n1,2.5\n2,3.5\n")
    for attempt in range(4):
        # The signal goes out once the first object is stored; where the rest is stored
        # faster than this process gets the CPU back, the commit finishes first: try again
        # in a fresh home with twice the small files (the interrupted one is checked below).
        big = _folder(tmp_path / f"big-{attempt}", 3, 6000 << attempt)
        home = tmp_path / f"home-{attempt}"
        assert cli("--home", str(home), "data", "commit", "kept", str(kept)).returncode == 0
        artifacts = ArtifactStore(str(home / "artifacts"))
        existing = {o.digest for o in artifacts.inventory()}
        done = _interrupted_commit(home, big, tmp_path)
        if done.returncode != 0:
            break
    assert done.returncode == 130, (done.stdout, done.stderr)
    assert done.stderr == "interrupted\n" and done.stdout == ""
    with SqlStore(f"sqlite:///{home / 'loopml.db'}") as store:
        assert [d.name for d in store.list_datasets()] == ["kept"]
    missing = cli("--home", str(home), "data", "log", "big")
    assert missing.returncode == 2 and "not found" in missing.stderr
    orphans = {o.digest: o.size for o in artifacts.inventory() if o.digest not in existing}
    assert orphans and all(size == BIG for size in orphans.values())

    waited = json.loads(cli("--home", str(home), "gc", "--json").stdout)
    assert (waited["objects_freed"], waited["recent"]) == (0, len(orphans))  # grace: an hour
    dry = json.loads(
        cli("--home", str(home), "gc", "--grace-minutes", "0", "--dry-run", "--json").stdout
    )
    assert set(dry["freed"]) == set(orphans) and dry["dry_run"]
    freed = cli("--home", str(home), "gc", "--grace-minutes", "0", "--json")
    assert freed.returncode == 0, freed.stderr
    report = json.loads(freed.stdout)
    assert set(report["freed"]) == set(orphans)
    assert report["bytes_freed"] == sum(orphans.values()) == len(orphans) * BIG
    assert {o.digest for o in artifacts.inventory()} == existing

    out = tmp_path / "out"
    checked = cli("--home", str(home), "data", "checkout", "kept@main", str(out))
    assert checked.returncode == 0, checked.stderr
    assert (out / "notes.txt").read_text() == "the version that must survive\n"
    assert (out / "table.csv").read_text() == "id,amount\n1,2.5\n2,3.5\n"
    human = cli("--home", str(home), "gc", "--grace-minutes", "0")
    assert human.stdout.startswith("freed 0 object(s), 0 bytes")
