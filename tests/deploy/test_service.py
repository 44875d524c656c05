"""Deployments in Python: create, step, pause, promote through the registry, roll back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import loopml
from loopml import deploy, lineage, registry
from loopml.entities import Actor, DeploymentEventKind, DeploymentStatus, Relation
from loopml.errors import Conflict, InvalidAnalysis, InvalidInput, NotFound
from loopml.ids import ObjectKind, ObjectRef

ANA = Actor("ana", ("approver",))
BEN = Actor("ben", ("approver",))


def _version(ws: loopml.Workspace, n: int) -> None:
    ws.store.create_model_version(
        "fraud",
        actor="ana",
        semver=f"1.{n}.0",
        manifest_digest=f"{n:064x}",
        payload_digest=f"{n + 100:064x}",
        flavor="sklearn",
        model_class="sklearn.linear_model.LogisticRegression",
    )


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[loopml.Workspace]:
    workspace = loopml.Workspace.open(home=tmp_path / "home").derive(actor=ANA)
    workspace.store.create_model("fraud", actor="ana")
    for n in (1, 2):
        _version(workspace, n)
    registry.set_alias("fraud", "champion", 1, store=workspace.store, actor=ANA)
    with loopml.use_workspace(workspace):
        yield workspace
    workspace.close()


def test_create_records_arms_and_lineage(ws: loopml.Workspace) -> None:
    dep = deploy.create("fraud", "fraud@champion", candidate="fraud/2")
    assert dep.weights == {"stable": 100, "canary": 0} and dep.alias == "champion"
    assert dep.steps == (5, 25, 50, 100) and dep.step == -1 and dep.revision == 1
    assert deploy.get("fraud") == dep and deploy.list_deployments() == [dep]
    version = ws.store.get_model_version("fraud", 2)
    down = lineage.downstream(ObjectRef(ObjectKind.MODEL_VERSION, version.id))
    assert [(n.edge.dst.kind, n.edge.dst.id, n.edge.relation) for n in down] == [
        ("deployment", "fraud", Relation.DEPLOYED.value)
    ]
    ab = deploy.create("split", "fraud/1", strategy="ab", candidate="fraud/2")
    assert ab.weights == {"stable": 50, "treatment": 50} and ab.alias == ""
    with pytest.raises(InvalidInput, match="strategy"):
        deploy.create("x", strategy="rainbow")
    with pytest.raises(InvalidInput, match="100"):
        deploy.create("x", candidate="fraud/2", steps=[10, 50])
    with pytest.raises(NotFound):
        deploy.create("x", candidate="fraud/9")
    with pytest.raises(InvalidAnalysis):
        deploy.create("x", candidate="fraud/2", analysis={"metrics": {"latency_p90": {}}})


def test_canary_steps_then_promotes_and_moves_the_alias(ws: loopml.Workspace) -> None:
    deploy.create("fraud", candidate="fraud/2", steps=[10, 100])
    assert deploy.advance("fraud").weights == {"stable": 90, "canary": 10}
    assert deploy.advance("fraud").weights == {"stable": 0, "canary": 100}
    with pytest.raises(InvalidInput, match="last step"):
        deploy.advance("fraud")
    done = deploy.promote("fraud")
    assert done.status is DeploymentStatus.COMPLETED
    assert done.arms[0].version == 2 and done.weights == {"stable": 100, "previous": 0}
    assert registry.get_version("fraud@champion").number == 2
    kinds = [e.kind for e in deploy.history("fraud")]
    assert kinds == [
        DeploymentEventKind.CREATED,
        DeploymentEventKind.STEP,
        DeploymentEventKind.STEP,
        DeploymentEventKind.PROMOTION,
    ]
    back = deploy.rollback("fraud", reason="alert: roc_auc dropped")
    assert back.status is DeploymentStatus.ROLLED_BACK
    assert back.arms[0].version == 1 and back.weights == {"stable": 100, "canary": 0}
    assert registry.get_version("fraud@champion").number == 1


def test_rollback_restores_stable_in_one_step_with_its_reason(ws: loopml.Workspace) -> None:
    deploy.create("fraud", candidate="fraud/2")
    deploy.advance("fraud")
    deploy.advance("fraud")
    back = deploy.rollback("fraud", reason="error_rate mean 0.21 > max 0.05")
    assert back.weights == {"stable": 100, "canary": 0}
    assert back.status is DeploymentStatus.ROLLED_BACK
    last = deploy.history("fraud")[-1]
    assert last.kind is DeploymentEventKind.ROLLBACK
    assert last.from_weights == {"stable": 75, "canary": 25}
    assert last.to_weights == {"stable": 100, "canary": 0}
    assert last.reason == "error_rate mean 0.21 > max 0.05" and last.actor == "ana"
    assert registry.get_version("fraud@champion").number == 1
    with pytest.raises(InvalidInput, match="rolled_back"):
        deploy.advance("fraud")


def test_pause_resume_weights_and_a_stale_revision(ws: loopml.Workspace) -> None:
    dep = deploy.create("fraud", candidate="fraud/2")
    paused = deploy.pause("fraud", reason="holiday freeze")
    assert paused.status is DeploymentStatus.PAUSED and paused.reason == "holiday freeze"
    with pytest.raises(InvalidInput, match="paused"):
        deploy.advance("fraud")
    assert deploy.resume("fraud").status is DeploymentStatus.ACTIVE
    moved = deploy.set_weights("fraud", {"stable": 80, "canary": 20}, reason="manual")
    assert moved.weights == {"stable": 80, "canary": 20}
    with pytest.raises(InvalidInput, match="sum to 100"):
        deploy.set_weights("fraud", {"canary": 30})
    with pytest.raises(InvalidInput, match="no arm"):
        deploy.set_weights("fraud", {"blue": 100})
    with pytest.raises(Conflict):
        deploy.set_weights("fraud", {"stable": 50, "canary": 50}, revision=dep.revision)
    assert deploy.get("fraud") == moved


def test_a_required_approval_pauses_the_promotion(ws: loopml.Workspace) -> None:
    registry.set_promotion_policy(
        "fraud", "champion", require_gates=False, approvals=1, store=ws.store, actor=ANA
    )
    deploy.create("fraud", candidate="fraud/2", steps=[100])
    deploy.advance("fraud")
    waiting = deploy.promote("fraud")
    assert waiting.status is DeploymentStatus.PAUSED and waiting.reason == "awaiting approval"
    assert registry.get_version("fraud@champion").number == 1
    event = deploy.history("fraud")[-1]
    assert event.kind is DeploymentEventKind.PAUSE and event.reason == "awaiting approval"
    assert deploy.promote("fraud") == waiting  # asking again opens no second request
    registry.approve(event.detail["request"], store=ws.store, actor=BEN)
    done = deploy.promote("fraud")
    assert done.status is DeploymentStatus.COMPLETED
    assert registry.get_version("fraud@champion").number == 2
    assert len(registry.list_requests("fraud", store=ws.store)) == 1
