"""Promotion needs approvals from the right role (not the author) and green gates."""

from __future__ import annotations

import pytest

from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN
from loopml.entities import RequestStatus
from loopml.errors import Conflict, GateFailed, InvalidInput, PermissionDenied
from loopml.evaluation import evaluate, parse_gates
from loopml.registry import (
    Actor,
    approve,
    gates_status,
    list_requests,
    promote,
    register_model,
    reject,
    request_promotion,
    set_alias,
    set_promotion_policy,
)

AUTHOR = Actor("ana", ("approver",))
REVIEWER = Actor("ben", ("approver",))
OUTSIDER = Actor("eve", ("viewer",))
GATES = parse_gates("metrics:\n  roc_auc: {min: 0.6}\n")


def _setup(store, artifacts, model, fraud_data):
    _, test = fraud_data
    register_model(
        "fraud",
        model,
        input_example=test[list(FEATURE_COLUMNS)].head(),
        store=store,
        artifacts=artifacts,
        actor=AUTHOR,
    )
    set_promotion_policy(
        "fraud", "champion", approvals=1, approver_role="approver", store=store, actor=AUTHOR
    )
    return test


def _evaluate(store, artifacts, test, gates=GATES, version=1):
    return evaluate(
        f"models:/fraud/{version}",
        test,
        TARGET_COLUMN,
        gates=gates,
        infra=False,
        analysis=False,
        robustness=False,
        store=store,
        artifacts=artifacts,
        actor="ci",
    )


def test_promotion_refused_without_approval_and_allowed_after(
    store, artifacts, fraud_model, fraud_data
):
    test = _setup(store, artifacts, fraud_model, fraud_data)
    report = _evaluate(store, artifacts, test)
    assert report.passed is True and gates_status("fraud", 1, store=store) is True
    request = request_promotion(
        "fraud", 1, "champion", comment="first model", store=store, actor=AUTHOR
    )
    with pytest.raises(PermissionDenied, match="0 of 1 required approval"):
        promote(request.id, store=store, actor=AUTHOR)
    with pytest.raises(PermissionDenied, match="not the author"):
        approve(request.id, store=store, actor=AUTHOR)
    with pytest.raises(PermissionDenied, match="role"):
        approve(request.id, store=store, actor=OUTSIDER)
    approved = approve(request.id, comment="looks good", store=store, actor=REVIEWER)
    assert approved.status is RequestStatus.APPROVED
    with pytest.raises(Conflict):
        approve(request.id, store=store, actor=REVIEWER)
    move = promote(request.id, reason="go", store=store, actor=AUTHOR)
    assert (move.from_version, move.to_version, move.actor) == (None, 1, "ana")
    assert store.get_alias("fraud", "champion").number == 1
    done = store.get_promotion_request(request.id)
    assert done.status is RequestStatus.PROMOTED
    assert [(d.actor, d.approve, d.comment) for d in done.decisions] == [
        ("ben", True, "looks good")
    ]
    with pytest.raises(PermissionDenied, match="PROMOTED"):
        promote(request.id, store=store, actor=AUTHOR)
    actions = [(e.action, e.actor) for e in store.list_model_events("fraud")]
    assert ("request_promotion", "ana") in actions and ("approve", "ben") in actions
    assert ("set_alias", "ana") in actions and ("evaluate", "ci") in actions


def test_red_or_missing_gates_block_promotion(store, artifacts, fraud_model, fraud_data):
    test = _setup(store, artifacts, fraud_model, fraud_data)
    request = request_promotion("fraud", 1, "champion", store=store, actor=AUTHOR)
    approve(request.id, store=store, actor=REVIEWER)
    with pytest.raises(GateFailed, match="no gated evaluation"):
        promote(request.id, store=store, actor=AUTHOR)
    report = _evaluate(
        store, artifacts, test, gates=parse_gates("metrics:\n  roc_auc: {min: 0.999}\n")
    )
    assert report.passed is False
    with pytest.raises(GateFailed, match="failed its gates") as info:
        promote(request.id, store=store, actor=AUTHOR)
    assert info.value.exit_code == 1


def test_rejection_closes_the_request(store, artifacts, fraud_model, fraud_data):
    _setup(store, artifacts, fraud_model, fraud_data)
    request = request_promotion("fraud", 1, "champion", store=store, actor=AUTHOR)
    with pytest.raises(InvalidInput):
        reject(request.id, store=store, actor=REVIEWER)
    rejected = reject(request.id, comment="calibration is off", store=store, actor=REVIEWER)
    assert rejected.status is RequestStatus.REJECTED
    with pytest.raises(Conflict):
        approve(request.id, store=store, actor=Actor("cy", ("approver",)))
    assert list_requests("fraud", status=RequestStatus.REJECTED, store=store)[0].id == request.id


def test_unguarded_alias_promotes_on_request(store, artifacts, fraud_model, fraud_data):
    _setup(store, artifacts, fraud_model, fraud_data)
    request = request_promotion("fraud", 1, "staging", store=store, actor=AUTHOR)
    assert promote(request.id, store=store, actor=AUTHOR).to_version == 1
    set_alias("fraud", "shadow", 1, store=store, actor=AUTHOR)
