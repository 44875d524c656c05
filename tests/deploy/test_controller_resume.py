"""A ``loopml deploy run`` killed mid-rollout is replaced by another that resumes from the
store: same step, no step taken twice. Traffic keeps flowing into the prediction log from
this process meanwhile, as a server's would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

import loopml
from loopml import deploy
from loopml.entities import DeploymentEventKind, DeploymentStatus
from loopml.serving import PredictionLog, PredictionRecord
from tests.deploy.rollout_helpers import ANA, seed

SPEC = {"interval_s": 1, "metrics": {"error_rate": {"max": 0.5, "min_samples": 5}}}


def _controller(home: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    args = ["--home", str(home), "deploy", "run", "fraud", "--interval", "0.2", "--lease-ttl", "2"]
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "loopml", *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )


def _feed(ws: loopml.Workspace, stop: threading.Event) -> None:
    plog = PredictionLog(ws, flush_interval_s=0.1)
    plog.start()
    i = 0
    try:
        while not stop.is_set():
            now = int(time.time() * 1000)
            for arm, version in (("stable", 1), ("canary", 2)):
                for _ in range(5):
                    i += 1
                    plog.append(
                        PredictionRecord(
                            f"r{i}", now, "fraud", version, "fraud", arm,
                            {"x": np.array([1.0])}, {"predict": np.array([0])}, 5.0,
                        )
                    )  # fmt: skip
            time.sleep(0.05)
    finally:
        plog.close()


def _wait(check: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_a_killed_controller_is_resumed_from_the_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ws = loopml.Workspace.open(home=home).derive(actor=ANA)
    seed(ws)
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", analysis=SPEC, workspace=ws)
    stop = threading.Event()
    feeder = threading.Thread(target=_feed, args=(ws, stop), daemon=True)
    feeder.start()
    log = tmp_path / "controllers.log"
    first = _controller(home, log)
    try:
        reached = _wait(lambda: ws.store.get_deployment("fraud").step >= 1, 60)
        assert reached, log.read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = ws.store.get_deployment("fraud")
        assert killed_at.status is DeploymentStatus.ACTIVE and killed_at.step < 3
        second = _controller(home, log)
        try:
            assert second.wait(90) == 0, log.read_text()
        finally:
            second.kill()
            second.wait(10)
    finally:
        first.kill()
        first.wait(10)
        stop.set()
        feeder.join(30)
    dep = ws.store.get_deployment("fraud")
    assert dep.status is DeploymentStatus.COMPLETED, log.read_text()
    events = ws.store.deployment_events("fraud")
    steps = [e.detail["percent"] for e in events if e.kind is DeploymentEventKind.STEP]
    assert steps == [5, 25, 50, 100]  # each step once, none repeated after the kill
    assert [e.kind for e in events].count(DeploymentEventKind.PROMOTION) == 1
    assert "fraud: promote -> completed" in log.read_text()  # the second one finished it
    ws.close()
