"""The agent: a SIGKILLed agent's chain is resumed without repeating finished steps (also
inside its training pipeline run), two agents run one chain once, SIGTERM stops
gracefully, /healthz and /metrics answer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

import loopml
from loopml import data, registry, triggers
from loopml.entities import TriggerEventKind
from tests.triggers import loop_helpers
from tests.triggers.conftest import calls
from tests.triggers.test_chain import _action

ROOT = Path(__file__).parents[2]
H = "tests.triggers.loop_helpers"


def _env(ws: loopml.Workspace, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOPML_", "LOOP_"))}
    env |= {
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "LOOPML_HOME": str(ws.home),
        "LOOPML_USER": "ana",
        "LOOP_CALLS": str(tmp_path / "calls.jsonl"),
        "NO_COLOR": "1",
        **extra,
    }
    return env


def _agent(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "loopml", "agent", "--lease-ttl", "1", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate: Any, what: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _slow_chain(ws: loopml.Workspace, tmp_path: Path) -> str:
    triggers.add_trigger(
        "slow",
        "manual",
        "fraud",
        action=_action(tmp_path, rollout=f"{H}:slow_canary", rollout_timeout_s=600),
    )
    chain = triggers.fire("slow").chain_id
    assert chain is not None
    return chain


def _started(chain: str, step: str) -> int:
    return sum(
        1
        for e in triggers.history(chain_id=chain, limit=None)
        if e.kind is TriggerEventKind.STEP and e.step == step and e.status == "started"
    )


def test_sigkilled_agent_chain_resumes_without_repeating_steps(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    chain = _slow_chain(loop_ws, tmp_path)
    first = _agent(_env(loop_ws, tmp_path), "--interval", "0.2", "--port", "-1")
    try:
        _wait_for(lambda: calls(tmp_path, "rollout") >= 2, "the canary step to run")
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    assert triggers.pending_chains() == [chain]
    second = subprocess.run(
        [sys.executable, "-m", "loopml", "agent", "--once", "--json", "--lease-ttl", "1"],
        env=_env(loop_ws, tmp_path, LOOP_ROLLOUT="promote"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    assert {"chain": chain, "trigger": "slow", "outcome": "promoted"} in json.loads(second.stdout)
    assert calls(tmp_path, "train") == 1  # finished steps were not repeated
    assert _started(chain, "train") == 1 and _started(chain, "evaluate") == 1
    assert registry.get_version("fraud@champion").number == 2


def test_agent_killed_inside_the_training_pipeline_resumes_that_pipeline_run(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "tx.parquet"
    loop_helpers.frame(3, rows=600).to_parquet(path)
    data.commit("tx", path)
    action = _action(
        tmp_path,
        pipeline="tests.triggers.loop_pipeline:slow_retrain",
        dataset="tx@main",
        data_param="data",
    )
    action.pop("train")
    action["params"] = {"gates": str(tmp_path / "gates.yaml")}
    triggers.add_trigger("slow-pipe", "manual", "fraud", action=action)
    chain = triggers.fire("slow-pipe").chain_id
    first = _agent(_env(loop_ws, tmp_path), "--interval", "0.2", "--port", "-1")
    try:
        _wait_for(lambda: calls(tmp_path, "hold") >= 1, "the pipeline's hold step to run")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        # The killed agent's worker process and the forkserver it came from outlive it
        # (and hold its output pipes open): end them by their pids.
        logged = (tmp_path / "calls.jsonl").read_text().splitlines()
        for call in map(json.loads, logged):
            if call["call"] == "hold":
                for pid in {int(call["pid"]), int(call["parent"])} - {first.pid, os.getpid()}:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        for pipe in (first.stdout, first.stderr):
            if pipe is not None:
                pipe.close()
    (made,) = loop_ws.store.list_pipeline_runs()
    assert made.status.value == "RUNNING"
    second = subprocess.run(
        [sys.executable, "-m", "loopml", "agent", "--once", "--json", "--lease-ttl", "1"],
        env=_env(loop_ws, tmp_path, LOOP_ROLLOUT="promote"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert second.returncode == 0, second.stderr
    assert {"chain": chain, "trigger": "slow-pipe", "outcome": "promoted"} in json.loads(
        second.stdout
    )
    # the same pipeline run, resumed once: fit kept, only the interrupted step ran again
    (resumed,) = loop_ws.store.list_pipeline_runs()
    assert (resumed.id, resumed.status.value, resumed.resumes) == (made.id, "COMPLETED", 1)
    assert calls(tmp_path, "fit") == 1 and calls(tmp_path, "hold") == 2
    named = [
        e.detail["pipeline_run"]
        for e in triggers.history(chain_id=chain, limit=None)
        if e.step == "train" and e.status == "started" and "pipeline_run" in e.detail
    ]
    assert named == [made.id]  # the resumed chain started no second pipeline run
    assert registry.get_version("fraud@champion").number == 2


def test_two_agents_run_one_chain_once(loop_ws: loopml.Workspace, tmp_path: Path) -> None:
    triggers.add_trigger("once", "manual", "fraud", action=_action(tmp_path))
    chain = triggers.fire("once").chain_id
    env = _env(loop_ws, tmp_path)
    agents = [_agent(env, "--once", "--json") for _ in range(2)]
    outputs = [a.communicate(timeout=120) for a in agents]
    assert [a.returncode for a in agents] == [0, 0], outputs
    assert calls(tmp_path, "train") == 1
    finished = [
        e
        for e in triggers.history(chain_id=chain, limit=None)
        if e.kind is TriggerEventKind.FINISHED
    ]
    assert [e.status for e in finished] == ["promoted"]
    reported = [json.loads(out) for out, _ in outputs]
    assert sum(1 for items in reported for i in items if i.get("outcome") == "promoted") == 1


def test_sigterm_stops_gracefully_and_health_answers(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    chain = _slow_chain(loop_ws, tmp_path)
    agent = _agent(_env(loop_ws, tmp_path), "--interval", "0.2", "--port", "0")
    try:
        assert agent.stderr is not None
        line = agent.stderr.readline()
        assert "healthz" in line, line
        base = line.split(" on ", 1)[1].split("/healthz")[0]
        _wait_for(lambda: calls(tmp_path, "rollout") >= 1, "the canary step to run")
        health = httpx.get(f"{base}/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["running_chain"] == chain
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        assert "loopml_agent_up 1" in metrics and "loopml_agent_ticks_total" in metrics
        agent.send_signal(signal.SIGTERM)
        out, err = agent.communicate(timeout=30)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.communicate()
    assert agent.returncode == 0, err
    assert "agent stopped" in out
    assert triggers.pending_chains() == [chain]  # left for the next agent, not failed
    assert (
        loop_ws.store.get_lease(f"trigger-chain:{chain}") is None
        or not triggers.run_chain(chain, workspace=loop_ws.derive(), stop=_stopped()).busy
    )


def _stopped() -> Any:
    import threading

    event = threading.Event()
    event.set()
    return event
