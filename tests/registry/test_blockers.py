"""What stops a promotion is typed; the type, not the wording, picks the exception."""

from __future__ import annotations

import pytest

from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN
from loopml.entities import Decision, PromotionPolicy, PromotionRequest, RequestStatus
from loopml.errors import GateFailed, PermissionDenied
from loopml.evaluation import evaluate, parse_gates
from loopml.registry import (
    Actor,
    ApprovalBlocker,
    ApprovalsMissing,
    GateBlocker,
    GatesNotRun,
    GatesRed,
    RequestClosed,
    RequestRejected,
    approve,
    promote,
    register_model,
    request_promotion,
    set_promotion_policy,
)
from loopml.registry._policies import promotion_blockers

AUTHOR = Actor("ana", ("gatekeeper",))
REVIEWER = Actor("ben", ("gatekeeper",))


def _guarded(store, artifacts, model, fraud_data, *, evaluated: bool):
    """Version 1 of ``fraud``, its champion alias guarded by the role ``gatekeeper``."""
    _, test = fraud_data
    register_model(
        "fraud",
        model,
        input_example=test[list(FEATURE_COLUMNS)].head(),
        store=store,
        artifacts=artifacts,
        actor=AUTHOR,
    )
    set_promotion_policy("fraud", "champion", approver_role="gatekeeper", store=store, actor=AUTHOR)
    if evaluated:
        report = evaluate(
            "models:/fraud/1",
            test,
            TARGET_COLUMN,
            gates=parse_gates("metrics:\n  roc_auc: {min: 0.6}\n"),
            infra=False,
            analysis=False,
            robustness=False,
            store=store,
            artifacts=artifacts,
            actor="ci",
        )
        assert report.passed is True
    return request_promotion("fraud", 1, "champion", store=store, actor=AUTHOR)


def test_a_role_named_like_a_gate_is_an_approval_blocker(store, artifacts, fraud_model, fraud_data):
    # The text of the reason mentions "gate" (the role's name): a refusal chosen by matching
    # text would raise GateFailed (exit 1) for what is a missing approval.
    request = _guarded(store, artifacts, fraud_model, fraud_data, evaluated=True)
    with pytest.raises(PermissionDenied) as info:
        promote(request.id, store=store, actor=AUTHOR)
    assert not isinstance(info.value, GateFailed) and info.value.exit_code == 2
    assert info.value.message == (
        "promotion of fraud@champion -> version 1 refused: "
        "0 of 1 required approval(s) from role 'gatekeeper'"
    )
    assert info.value.fields["blockers"] == [ApprovalsMissing(0, 1, "gatekeeper")]
    assert info.value.fields["reasons"] == ["0 of 1 required approval(s) from role 'gatekeeper'"]
    approve(request.id, store=store, actor=REVIEWER)
    assert promote(request.id, store=store, actor=AUTHOR).to_version == 1


def test_a_gate_blocker_wins_over_missing_approvals(store, artifacts, fraud_model, fraud_data):
    request = _guarded(store, artifacts, fraud_model, fraud_data, evaluated=False)
    with pytest.raises(GateFailed) as info:
        promote(request.id, store=store, actor=AUTHOR)
    assert info.value.exit_code == 1
    assert info.value.fields["blockers"] == [ApprovalsMissing(0, 1, "gatekeeper"), GatesNotRun()]
    assert info.value.message.endswith(
        "refused: 0 of 1 required approval(s) from role 'gatekeeper'; "
        "no gated evaluation of this version is recorded"
    )


def test_each_blocker_keeps_the_wording_and_family() -> None:
    policy = PromotionPolicy("champion", approvals=2, approver_role="approver")
    no = Decision("cy", "approver", approve=False, comment="no", at_ms=1)
    yes = Decision("ben", "approver", approve=True, comment="ok", at_ms=2)
    closed = PromotionRequest(
        "r", "fraud", 1, "champion", RequestStatus.REJECTED, "ana", 0, decisions=(yes, no)
    )
    blockers = promotion_blockers(policy, closed, gates_passed=False)
    assert blockers == [
        RequestClosed(RequestStatus.REJECTED),
        RequestRejected(),
        ApprovalsMissing(1, 2, "approver"),
        GatesRed(),
    ]
    assert [b.message for b in blockers] == [
        "the request is REJECTED",
        "the request was rejected",
        "1 of 2 required approval(s) from role 'approver'",
        "the latest gated evaluation of this version failed its gates",
    ]
    assert [isinstance(b, GateBlocker) for b in blockers] == [False, False, False, True]
    assert all(isinstance(b, ApprovalBlocker) for b in blockers[:3])
    assert promotion_blockers(None, closed, gates_passed=None) == [blockers[0]]
