"""Conformance checks for the ModelStore, ApprovalStore and EvaluationStore aggregates."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from loopml.entities import PromotionPolicy, RequestStatus
from loopml.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from loopml.store import Store

_D1, _D2 = "a" * 64, "b" * 64


def _version(store: Store, name: str = "fraud", semver: str = "1.0.0", digest: str = _D1) -> int:
    return store.create_model_version(
        name,
        actor="ana",
        semver=semver,
        manifest_digest=digest,
        payload_digest=digest,
        flavor="sklearn",
        model_class="sklearn.linear_model.LogisticRegression",
    ).number


class RegistryConformance:
    """Registry checks; needs a ``store`` fixture (fresh and empty)."""

    def test_models_and_versions(self, store: Store) -> None:
        model = store.create_model("fraud", actor="ana", description="d", tags={"team": "risk"})
        assert store.get_model("fraud") == model and model.tags == {"team": "risk"}
        with pytest.raises(Conflict):
            store.create_model("fraud", actor="ben")
        with pytest.raises(InvalidInput):
            store.create_model("no spaces", actor="ana")
        assert [_version(store), _version(store, semver="1.1.0", digest=_D2)] == [1, 2]
        with pytest.raises(Conflict):
            _version(store, semver="1.1.0")
        assert [v.number for v in store.list_model_versions("fraud")] == [2, 1]
        updated = store.update_model_version("fraud", 1, actor="ana", tags={"k": "v"})
        assert updated.tags == {"k": "v"}
        with pytest.raises(NotFound):
            store.get_model_version("fraud", 9)
        with pytest.raises(NotFound):
            store.get_model("nope")

    def test_aliases_and_history(self, store: Store) -> None:
        store.create_model("fraud", actor="ana")
        _version(store)
        _version(store, semver="2.0.0", digest=_D2)
        store.set_alias("fraud", "champion", 1, actor="ana", reason="first")
        move = store.set_alias("fraud", "champion", 2, actor="ben", reason="better")
        assert (move.from_version, move.to_version) == (1, 2)
        assert store.get_alias("fraud", "champion").aliases == ("champion",)
        store.set_alias("fraud", "champion", None, actor="ana")
        with pytest.raises(NotFound):
            store.get_alias("fraud", "champion")
        history = store.alias_history("fraud", "champion")
        assert [(m.from_version, m.to_version, m.actor) for m in history] == [
            (None, 1, "ana"),
            (1, 2, "ben"),
            (2, None, "ana"),
        ]

    def test_requests_and_decisions(self, store: Store) -> None:
        store.create_model("fraud", actor="ana")
        _version(store)
        store.set_promotion_policy("fraud", PromotionPolicy("champion", approvals=2), actor="ana")
        assert store.get_promotion_policies("fraud")[0].approvals == 2
        request = store.create_promotion_request("fraud", 1, "champion", actor="ana")
        assert request.status is RequestStatus.PENDING
        with pytest.raises(Conflict):
            store.set_alias("fraud", "champion", 1, actor="ana", request_id=request.id)
        after = store.add_decision(
            request.id,
            actor="ben",
            role="approver",
            approve=True,
            comment="ok",
            status=RequestStatus.APPROVED,
        )
        assert after.status is RequestStatus.APPROVED and after.decisions[0].actor == "ben"
        with pytest.raises(Conflict):
            store.add_decision(
                request.id,
                actor="ben",
                role="approver",
                approve=True,
                comment="",
                status=RequestStatus.APPROVED,
            )
        store.set_alias("fraud", "champion", 1, actor="ana", request_id=request.id)
        assert store.get_promotion_request(request.id).status is RequestStatus.PROMOTED

    def test_evaluations(self, store: Store) -> None:
        store.create_model("fraud", actor="ana")
        _version(store)
        first = store.add_evaluation(
            actor="ci",
            model_uri="models:/fraud/1",
            model_name="fraud",
            version=1,
            passed=True,
            summary={"auc": 0.9},
        )
        store.add_evaluation(actor="ci", model_uri="/tmp/m", summary={})
        assert store.get_evaluation(first.id) == first
        assert [e.id for e in store.list_evaluations("fraud", 1)] == [first.id]
        with pytest.raises(NotFound):
            store.get_evaluation("0" * 32)
