"""SIGTERM ends an open run as KILLED at once, its metrics flushed, and exits 143."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from loopml.entities import RunStatus
from loopml.store.sql import SqlStore
from loopml.tracking import TrackingClient

_SCRIPT = """
import signal, sys, time
from loopml.store.sql import SqlStore
from loopml.tracking import TrackingClient

if sys.argv[2] == "chained":
    def previous(signum, frame):
        print("previous handler ran", flush=True)
        sys.exit(3)
    signal.signal(signal.SIGTERM, previous)
client = TrackingClient(SqlStore(sys.argv[1]), capture_environment=False, flush_interval_s=30)
with client.start_run(name="victim") as parent, client.start_run(name="child", parent=parent):
    for step in range(500):
        parent.log_metric("loss", 1.0 / (step + 1), step=step)
    try:
        print(parent.id, flush=True)
        time.sleep(120)
    finally:
        print("finally ran", flush=True)
"""


def _terminated(tmp_path: Path, mode: str) -> tuple[subprocess.CompletedProcess[str], str]:
    script = tmp_path / "victim.py"
    script.write_text(textwrap.dedent(_SCRIPT))
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    proc = subprocess.Popen(
        [sys.executable, str(script), url, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()  # printed once the run is open and logged to
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), run_id


@pytest.mark.parametrize("mode", ["default", "chained"])
def test_sigterm_kills_the_runs_with_their_metrics(tmp_path: Path, mode: str) -> None:
    done, run_id = _terminated(tmp_path, mode)
    if mode == "default":
        assert done.returncode == 143, done.stderr  # 128 + SIGTERM, as a default SIGTERM
    else:
        assert done.returncode == 3 and "previous handler ran" in done.stdout, done.stderr
    assert "finally ran" in done.stdout and "Traceback" not in done.stderr
    with SqlStore(f"sqlite:///{tmp_path / 'runs.db'}") as store:
        runs = {r.name: r for r in store.list_runs(limit=10)}
        # Read straight from the store: no heartbeat reaping made this status.
        assert {r.status for r in runs.values()} == {RunStatus.KILLED}
        assert runs["victim"].id == run_id and "SIGTERM" in (runs["victim"].error or "")
        points = store.metric_history(run_id, "loss")
        assert [p.step for p in points] == list(range(500))  # buffered for 30 s, flushed now


def test_the_handler_is_there_only_while_a_run_is_open(tmp_path: Path) -> None:
    def mine(signum: int, frame: object) -> None:
        raise AssertionError("not called here")

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        with SqlStore(f"sqlite:///{tmp_path / 'runs.db'}") as store:
            client = TrackingClient(store, capture_environment=False)
            with client.start_run(name="outer"):
                assert signal.getsignal(signal.SIGTERM) not in (mine, previous)
                with client.start_run(name="inner"):
                    pass
                assert signal.getsignal(signal.SIGTERM) not in (mine, previous)
            assert signal.getsignal(signal.SIGTERM) is mine
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            with client.start_run(name="ignored"):
                assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
            client.close()
    finally:
        signal.signal(signal.SIGTERM, previous)
