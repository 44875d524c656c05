"""Conformance checks for the deployment part of a Store."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from loopml.entities import (
    Arm,
    Deployment,
    DeploymentEventKind,
    DeploymentStatus,
    DeploymentStrategy,
)
from loopml.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from loopml.store import Store


def _canary(name: str = "fraud") -> Deployment:
    return Deployment(
        name=name,
        strategy=DeploymentStrategy.CANARY,
        arms=(Arm("stable", "fraud", 1, 100), Arm("canary", "fraud", 2, 0)),
        analysis={"metrics": [{"name": "error_rate"}]},
    )


class DeploymentStoreConformance:
    """Deployments and their events; needs a ``store`` fixture (fresh and empty)."""

    def test_create_get_list_deployments(self, store: Store) -> None:
        created = store.create_deployment(_canary(), actor="ann", reason="first")
        assert created.revision == 1 and created.created_by == "ann"
        assert created.created_at_ms > 0 and created.updated_at_ms == created.created_at_ms
        assert store.get_deployment("fraud") == created
        assert created.arm("canary") == Arm("canary", "fraud", 2, 0)
        assert created.analysis == {"metrics": [{"name": "error_rate"}]}
        store.create_deployment(_canary("churn"), actor="ann")
        assert [d.name for d in store.list_deployments()] == ["churn", "fraud"]
        assert [d.name for d in store.list_deployments(DeploymentStatus.PAUSED)] == []
        with pytest.raises(Conflict):
            store.create_deployment(_canary(), actor="bob")
        with pytest.raises(NotFound):
            store.get_deployment("nope")
        with pytest.raises(InvalidInput):
            store.create_deployment(replace(_canary("x"), arms=()), actor="ann")

    def test_update_is_compare_and_set_on_the_revision(self, store: Store) -> None:
        first = store.create_deployment(_canary(), actor="ann")
        moved = store.update_deployment(
            replace(first, arms=first.with_weights({"stable": 95, "canary": 5}), step=0),
            actor="ann",
            kind=DeploymentEventKind.STEP,
            detail={"step": 0},
        )
        assert moved.revision == 2 and moved.weights == {"stable": 95, "canary": 5}
        with pytest.raises(Conflict):
            store.update_deployment(
                replace(first, status=DeploymentStatus.PAUSED), actor="bob", kind="pause"
            )
        assert store.get_deployment("fraud") == moved
        with pytest.raises(NotFound):
            store.update_deployment(replace(first, name="nope"), actor="bob", kind="pause")

    def test_every_write_is_an_event_and_an_audit_entry(self, store: Store) -> None:
        first = store.create_deployment(_canary(), actor="ann")
        store.update_deployment(
            replace(first, arms=first.with_weights({"stable": 0, "canary": 100})),
            actor="bot",
            kind="rollback",
            reason="error_rate 0.2 > 0.05",
        )
        events = store.deployment_events("fraud")
        assert [e.kind for e in events] == [
            DeploymentEventKind.CREATED,
            DeploymentEventKind.ROLLBACK,
        ]
        assert events[0].from_weights == {} and events[0].to_weights == first.weights
        assert events[1].from_weights == {"stable": 100, "canary": 0}
        assert events[1].to_weights == {"stable": 0, "canary": 100}
        assert events[1].reason == "error_rate 0.2 > 0.05" and events[1].actor == "bot"
        assert events[1].revision == 2
        audit = store.list_audit_events(action="deployment.*", object_id="fraud")
        assert [e.entry.action for e in audit] == ["deployment.created", "deployment.rollback"]
        assert audit[1].entry.before == audit[0].entry.after
        with pytest.raises(NotFound):
            store.deployment_events("nope")
