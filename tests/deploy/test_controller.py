"""The rollout controller on a real store and a real prediction log.

Traffic is written to the prediction log as the deployment's server would log it (arm,
version, latency, error), window by window, and each tick is given a clock just past the
window it judges, so the tests do not sleep.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import loopml
from loopml import deploy, lineage, registry
from loopml.entities import DeploymentEventKind, DeploymentStatus
from loopml.ids import ObjectKind, ObjectRef
from tests.deploy.rollout_helpers import ANA, BEN, measure, seed
from tests.fixtures.cli import Cli

GOOD = {"stable": {}, "canary": {}}
SPEC = {
    "interval_s": 10,
    "count": 1,
    "metrics": {
        "error_rate": {"max": 0.05},
        "latency_p95": {"tolerance": 0.2},
        "score_shift": {"tolerance": 0.15},
    },
}


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[loopml.Workspace]:
    workspace = loopml.Workspace.open(home=tmp_path / "home").derive(actor=ANA)
    seed(workspace)
    with loopml.use_workspace(workspace):
        yield workspace
    workspace.close()


def _kinds(name: str) -> list[str]:
    skip = (DeploymentEventKind.ANALYSIS, DeploymentEventKind.WEBHOOK)
    return [e.kind.value for e in deploy.history(name) if e.kind not in skip]


def test_a_good_canary_steps_to_100_and_is_promoted(ws: loopml.Workspace) -> None:
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", analysis=SPEC)
    first = deploy.step_rollout("fraud")
    assert first.action == "advance" and first.step == 0
    assert deploy.get("fraud").weights == {"stable": 95, "canary": 5}
    seen = []
    for i in range(4):
        tick = measure(ws, "fraud", GOOD, seed_=i)
        seen.append((tick.action, deploy.get("fraud").weights.get("canary")))
    assert seen == [("advance", 25), ("advance", 50), ("advance", 100), ("promote", None)]
    done = deploy.get("fraud")
    assert done.status is DeploymentStatus.COMPLETED and done.arms[0].version == 2
    assert registry.get_version("fraud@champion").number == 2
    assert _kinds("fraud") == ["created", "step", "step", "step", "step", "promotion"]
    analyses = [e for e in deploy.history("fraud") if e.kind is DeploymentEventKind.ANALYSIS]
    assert [e.detail["outcome"]["verdict"] for e in analyses] == ["Successful"] * 4
    assert deploy.step_rollout("fraud").done
    version = ws.store.get_model_version("fraud", 2)
    down = lineage.downstream(ObjectRef(ObjectKind.MODEL_VERSION, version.id))
    assert ("deployment", "fraud") in {(n.edge.dst.kind, n.edge.dst.id) for n in down}


def test_a_canary_failing_on_a_fraction_of_inputs_is_rolled_back(ws: loopml.Workspace) -> None:
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", analysis=SPEC)
    deploy.step_rollout("fraud")
    tick = measure(ws, "fraud", {"stable": {}, "canary": {"error_rate": 0.25}})
    assert tick.action == "rollback" and tick.done
    dep = deploy.get("fraud")
    assert dep.status is DeploymentStatus.ROLLED_BACK
    assert dep.weights == {"stable": 100, "canary": 0}
    assert "error_rate mean" in dep.reason and "> max 0.05" in dep.reason
    assert registry.get_version("fraud@champion").number == 1
    assert _kinds("fraud") == ["created", "step", "rollback"]


def test_a_slower_canary_fails_the_latency_check(ws: loopml.Workspace) -> None:
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", analysis=SPEC)
    deploy.step_rollout("fraud")
    assert measure(ws, "fraud", GOOD).action == "advance"
    tick = measure(ws, "fraud", {"stable": {}, "canary": {"latency": 25.0}})
    assert tick.action == "rollback"
    reason = deploy.get("fraud").reason
    assert "latency_p95" in reason and "beyond tolerance" in reason and "step 2" in reason


def test_an_inconclusive_step_pauses_until_resumed(ws: loopml.Workspace) -> None:
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", analysis=SPEC, steps=[50, 100])
    deploy.step_rollout("fraud")
    tick = measure(ws, "fraud", {"stable": {}})  # the canary got no traffic
    assert tick.action == "pause"
    dep = deploy.get("fraud")
    assert dep.status is DeploymentStatus.PAUSED and "inconclusive" in dep.reason
    assert "canary samples" in dep.reason
    assert deploy.step_rollout("fraud", now=4e9).action == "wait"  # a person decides
    deploy.resume("fraud", reason="traffic fixed")
    assert measure(ws, "fraud", GOOD).action == "advance"
    assert deploy.get("fraud").weights == {"stable": 0, "canary": 100}


def test_an_approval_gated_promotion_waits_then_continues(ws: loopml.Workspace) -> None:
    registry.set_promotion_policy(
        "fraud", "champion", require_gates=False, approvals=1, store=ws.store, actor=ANA
    )
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", analysis=SPEC, steps=[100])
    deploy.step_rollout("fraud")
    tick = measure(ws, "fraud", {"canary": {}})
    assert tick.action == "pause" and tick.reason == deploy.AWAITING_APPROVAL
    assert deploy.step_rollout("fraud").action == "pause"  # still waiting, nothing new
    pauses = [e for e in deploy.history("fraud") if e.kind is DeploymentEventKind.PAUSE]
    assert len(pauses) == 1
    registry.approve(pauses[0].detail["request"], store=ws.store, actor=BEN)
    assert deploy.step_rollout("fraud").action == "promote"
    assert registry.get_version("fraud@champion").number == 2
    assert deploy.get("fraud").status is DeploymentStatus.COMPLETED


def test_failure_limit_tolerates_one_failed_measurement(ws: loopml.Workspace) -> None:
    spec = {**SPEC, "count": 2, "failure_limit": 1}
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", analysis=spec, steps=[50, 100])
    deploy.step_rollout("fraud")
    bad = {"stable": {}, "canary": {"error_rate": 0.3}}
    assert measure(ws, "fraud", bad).action == "measure"
    assert measure(ws, "fraud", GOOD, seed_=1).action == "measure"
    assert measure(ws, "fraud", GOOD, seed_=2).action == "advance"


def test_a_controller_waits_for_its_window_and_for_the_lease(ws: loopml.Workspace) -> None:
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", analysis=SPEC)
    deploy.step_rollout("fraud")
    assert deploy.step_rollout("fraud").action == "wait"  # the window is not over
    assert ws.store.acquire_lease("deploy:fraud", "someone-else", 60)
    held = deploy.step_rollout("fraud", now=4e9)
    assert held.action == "wait" and "someone-else" in held.reason
    assert deploy.get("fraud").step == 0


def test_deploy_run_from_the_command_line(ws: loopml.Workspace, run_cli: Cli) -> None:
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", analysis=SPEC)
    home = ["--home", str(ws.home)]
    once = run_cli(*home, "deploy", "run", "fraud", "--once", "--json")
    assert once.returncode == 0, once.stderr
    tick = json.loads(once.stdout)
    assert tick["action"] == "advance" and tick["step"] == 0 and not tick["done"]
    measure(ws, "fraud", {"stable": {}, "canary": {"error_rate": 0.4}})
    rolled = run_cli(*home, "deploy", "run", "fraud", "--interval", "0.1")
    assert rolled.returncode == 1 and "rolled_back" in rolled.stdout  # the check failed
    status = json.loads(run_cli(*home, "deploy", "status", "fraud", "--json").stdout)
    assert status["status"] == "rolled_back"
    assert "> max 0.05" in status["reason"]
    (window,) = status["measurements"]
    assert window["verdict"] == "Failed" and window["until_ms"] - window["since_ms"] == 10_000
