"""The action chain end to end: train, gates, register, canary, promote or roll back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import loopml
from loopml import deploy, lineage, registry, triggers
from loopml.entities import DeploymentStatus, TriggerEventKind
from loopml.ids import ObjectKind, ObjectRef
from tests.triggers.conftest import calls

H = "tests.triggers.loop_helpers"


def _action(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "train": f"{H}:train",
        "params": {"seed": 3, "gates": str(tmp_path / "gates.yaml")},
        "eval_data": str(tmp_path / "holdout.parquet"),
        "target": "y",
        "deployment": "fraud",
        "steps": [50, 100],
        "poll_s": 0.05,
        "rollout": f"{H}:promote_canary",
        **extra,
    }


def test_manual_fire_retrains_gates_canaries_and_promotes(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    triggers.add_trigger("by-hand", "manual", "fraud", action=_action(tmp_path))
    fired = triggers.fire("by-hand", reason="test", alert="alert-7")
    assert fired.chain_id is not None
    result = triggers.run_chain(fired.chain_id)
    assert result.outcome == "promoted", result.events
    assert result.completed_steps == list(triggers.STEPS)
    champion = registry.get_version("fraud@champion")
    assert champion.number == 2 and champion.tags["loopml.status"] == "champion"
    assert deploy.get("fraud-v2").status is DeploymentStatus.COMPLETED
    # why is this model in production? back to the alert
    up = lineage.upstream(ObjectRef(ObjectKind.MODEL_VERSION, champion.id))
    sources = {(n.edge.src.kind, n.edge.src.id) for n in up}
    assert ("trigger_event", fired.chain_id) in sources
    assert ("alert", "alert-7") in sources
    # running it again repeats nothing
    again = triggers.run_chain(fired.chain_id)
    assert again.outcome == "promoted" and calls(tmp_path, "train") == 1


def test_candidate_failing_its_gates_is_rejected_and_never_deployed(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    action = _action(tmp_path)
    action["params"] = {**action["params"], "flip": True}
    triggers.add_trigger("bad", "manual", "fraud", action=action)
    result = triggers.run_chain(triggers.fire("bad").chain_id or "")
    assert result.outcome == "rejected"
    assert "canary" not in result.completed_steps
    assert [e.kind for e in result.events if e.kind is TriggerEventKind.REJECTED]
    assert registry.get_version("fraud/2").tags["loopml.status"] == "rejected"
    assert registry.get_version("fraud@champion").number == 1
    assert deploy.list_deployments() == []


def test_failing_canary_is_rolled_back_and_the_champion_keeps_serving(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    triggers.add_trigger(
        "canary-fails", "manual", "fraud", action=_action(tmp_path, rollout=f"{H}:fail_canary")
    )
    result = triggers.run_chain(triggers.fire("canary-fails").chain_id or "")
    assert result.outcome == "rolled_back"
    assert deploy.get("fraud-v2").status is DeploymentStatus.ROLLED_BACK
    assert registry.get_version("fraud@champion").number == 1


def test_failing_retrain_does_not_touch_production(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    triggers.add_trigger(
        "broken", "manual", "fraud", action=_action(tmp_path, train=f"{H}:does_not_exist")
    )
    result = triggers.run_chain(triggers.fire("broken").chain_id or "")
    assert result.outcome == "failed"
    failed = [e for e in result.events if e.status == "failed"]
    assert failed and failed[0].step == "train"
    assert registry.get_version("fraud@champion").number == 1
    assert deploy.list_deployments() == []
