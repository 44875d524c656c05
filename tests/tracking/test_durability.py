"""Durability: normal exit loses nothing, SIGKILL loses at most the last interval, untorn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loopml.config import load_settings
from loopml.entities import RunStatus
from loopml.tracking import TrackingClient

CHILD = [sys.executable, "-m", "tests.tracking._child"]
ROOT = Path(__file__).resolve().parents[2]


def _spawn(home: Path, count: int, name: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.Popen(
        [*CHILD, str(home), str(count), name],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _reader(home: Path, **options: float) -> TrackingClient:
    return TrackingClient.from_settings(load_settings(env={}, home=home), **options)  # type: ignore[arg-type]


def _assert_intact(client: TrackingClient, run_id: str) -> int:
    history = client.metric_history(run_id, "x")
    assert [m.step for m in history] == list(range(len(history)))  # a prefix: no gap, no tear
    assert all(m.value == m.step * 2.0 for m in history)
    return len(history)


@pytest.mark.slow
def test_normal_exit_without_ending_the_run_loses_nothing(tmp_path: Path) -> None:
    child = _spawn(tmp_path / "home", 50_000, "normal")
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    client = _reader(tmp_path / "home")
    run_id = out.split()[0]
    assert _assert_intact(client, run_id) == 50_000
    assert client.get_run(run_id).status is RunStatus.FINISHED
    client.close()


@pytest.mark.slow
def test_sigkill_leaves_a_crashed_run_with_intact_points(tmp_path: Path) -> None:
    home = tmp_path / "home"
    child = _spawn(home, -1, "killed")
    assert child.stdout is not None
    run_id = child.stdout.readline().strip()
    client = _reader(home, stale_after_s=1.0)
    deadline = time.monotonic() + 60
    while sum(s.count for s in client.metric_summaries([run_id])) < 20_000:
        assert time.monotonic() < deadline, "the child never flushed"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)  # reaps it and closes the pipes
    assert client.store.get_run(run_id).status is RunStatus.RUNNING  # until the beat goes stale
    time.sleep(1.5)
    run = client.get_run(run_id)
    assert run.status is RunStatus.CRASHED and "heartbeat" in (run.error or "")
    assert _assert_intact(client, run_id) >= 20_000
    client.close()


@pytest.mark.slow
def test_two_processes_log_to_one_home_concurrently(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _reader(home).close()  # migrate once, so the children do not race on it
    children = [_spawn(home, 30_000, f"p{i}") for i in range(2)]
    results = [child.communicate(timeout=180) for child in children]
    assert [c.returncode for c in children] == [0, 0], [err for _, err in results]
    client = _reader(home)
    for out, _ in results:
        assert _assert_intact(client, out.split()[0]) == 30_000
    client.close()
