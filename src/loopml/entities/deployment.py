"""Deployments: an endpoint name bound to model versions by a strategy and traffic weights.

A :class:`Deployment` is stored with a ``revision`` counter: each update names the revision
it read, and the store refuses a stale one (``Conflict``), so two controllers never
overwrite each other's step. Every change is also a :class:`DeploymentEvent`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

DEFAULT_STEPS: tuple[int, ...] = (5, 25, 50, 100)
"""The canary's traffic steps in percent of requests (Argo Rollouts' and Flagger's habit)."""


class DeploymentStrategy(StrEnum):
    """How traffic is shared between the arms."""

    CANARY = "canary"
    SHADOW = "shadow"
    AB = "ab"
    BLUEGREEN = "bluegreen"


class DeploymentStatus(StrEnum):
    """Where a deployment stands."""

    ACTIVE = "active"
    PAUSED = "paused"
    PROMOTING = "promoting"
    ROLLED_BACK = "rolled_back"
    COMPLETED = "completed"


class DeploymentEventKind(StrEnum):
    """What a :class:`DeploymentEvent` records."""

    CREATED = "created"
    STEP = "step"
    PAUSE = "pause"
    RESUME = "resume"
    PROMOTION = "promotion"
    ROLLBACK = "rollback"
    WEIGHTS = "weights"
    ANALYSIS = "analysis"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class Arm:
    """One model version behind a deployment, with its share of the traffic.

    Attributes:
        name: The arm's name within the deployment (``stable``, ``canary``, ``a``...).
        model: Registered model name.
        version: Model version number.
        weight: Percent of requests (0-100; a shadow arm has 0 and gets copies).
    """

    name: str
    model: str
    version: int
    weight: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "name": self.name,
            "model": self.model,
            "version": self.version,
            "weight": self.weight,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Arm:
        """The inverse of :meth:`to_dict`."""
        return cls(str(data["name"]), str(data["model"]), int(data["version"]), int(data["weight"]))


def weights_of(arms: tuple[Arm, ...]) -> dict[str, int]:
    """Arm name -> weight."""
    return {arm.name: arm.weight for arm in arms}


@dataclass(frozen=True)
class Deployment:
    """A named endpoint and how it shares traffic between model versions.

    Attributes:
        name: The endpoint name (``/v2/models/NAME/infer``).
        strategy: canary, shadow, ab or bluegreen.
        arms: The model versions and their weights; the first is the stable arm.
        alias: The registry alias the stable arm came from (``champion``), which a
            promotion moves to the candidate ("": none, the model was named by version).
        status: active, paused, promoting, rolled_back or completed.
        step: Index into ``steps`` of the canary's current step (-1 before the first).
        steps: Canary traffic steps in percent.
        analysis: The analysis spec as plain JSON (empty: no automated analysis).
        created_at_ms: Creation time.
        updated_at_ms: Last change.
        revision: Incremented on every change (optimistic concurrency).
        created_by: Who created it.
        reason: Why the status is what it is (e.g. ``awaiting approval``).
        feature_service: The feature service whose online values the router joins to
            each request before predicting ("": none).
    """

    name: str
    strategy: DeploymentStrategy
    arms: tuple[Arm, ...]
    alias: str = ""
    status: DeploymentStatus = DeploymentStatus.ACTIVE
    step: int = -1
    steps: tuple[int, ...] = DEFAULT_STEPS
    analysis: dict[str, Any] = field(default_factory=dict)
    created_at_ms: int = 0
    updated_at_ms: int = 0
    revision: int = 0
    created_by: str = ""
    reason: str = ""
    feature_service: str = ""

    def arm(self, name: str) -> Arm | None:
        """The arm called ``name``, or None."""
        return next((a for a in self.arms if a.name == name), None)

    @property
    def weights(self) -> dict[str, int]:
        """Arm name -> weight."""
        return weights_of(self.arms)

    def with_weights(self, weights: dict[str, int]) -> tuple[Arm, ...]:
        """The arms with new weights (arms not named keep theirs)."""
        return tuple(replace(a, weight=int(weights.get(a.name, a.weight))) for a in self.arms)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "name": self.name,
            "strategy": self.strategy.value,
            "arms": [a.to_dict() for a in self.arms],
            "alias": self.alias,
            "status": self.status.value,
            "step": self.step,
            "steps": list(self.steps),
            "analysis": self.analysis,
            "created_at_ms": self.created_at_ms,
            "updated_at_ms": self.updated_at_ms,
            "revision": self.revision,
            "created_by": self.created_by,
            "reason": self.reason,
            "feature_service": self.feature_service,
        }


@dataclass(frozen=True)
class DeploymentEvent:
    """One recorded change of a deployment.

    Attributes:
        deployment: The deployment's name.
        kind: created, step, pause, resume, promotion, rollback, weights, analysis (a
            controller's measurement or A/B look) or webhook (deliveries made).
        from_weights: Arm weights before (empty for ``created``).
        to_weights: Arm weights after.
        reason: Why (for an automatic rollback: which metric, which value, which bound).
        actor: Who (or which controller).
        at_ms: When.
        revision: The deployment's revision after the change.
        detail: Anything else (the step index, the promotion request...).
    """

    deployment: str
    kind: DeploymentEventKind
    from_weights: dict[str, int]
    to_weights: dict[str, int]
    reason: str
    actor: str
    at_ms: int
    revision: int = 0
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "deployment": self.deployment,
            "kind": self.kind.value,
            "from_weights": self.from_weights,
            "to_weights": self.to_weights,
            "reason": self.reason,
            "actor": self.actor,
            "at_ms": self.at_ms,
            "revision": self.revision,
            "detail": self.detail,
        }
