"""Monitoring alerts: a rule's bound crossed by a monitored quantity, from firing to resolved."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any


class AlertState(StrEnum):
    """Where an alert stands."""

    FIRING = "firing"
    RESOLVED = "resolved"


class AlertSeverity(StrEnum):
    """How urgent an alert is (Alertmanager's ``severity`` label takes the value)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertKind(StrEnum):
    """The kind of monitored quantity an alert rule watches."""

    DRIFT = "drift"
    """A drift statistic (effect size) of a feature or of the predictions."""
    METRIC = "metric"
    """A realised performance metric (from labels)."""
    ESTIMATED_METRIC = "estimated_metric"
    """A performance metric estimated before labels arrive."""
    ERROR_RATE = "error_rate"
    """Errors per request of a deployment."""
    LATENCY = "latency"
    """A latency percentile of a deployment, in seconds."""


@dataclass(frozen=True)
class Alert:
    """One alert: fired when ``value`` crossed ``bound``, resolved when it came back.

    Attributes:
        id: Time-ordered unique id.
        rule: The name of the rule that fired it.
        kind: What was watched (an :class:`AlertKind` value).
        state: Firing or resolved.
        severity: Info, warning or critical.
        subject: The feature, metric or percentile watched (``""`` when the kind has one).
        value: The value that fired it.
        bound: The rule's bound.
        deployment: The deployment it concerns (``""`` when none).
        model: The registered model (``""`` when none).
        version: The model version (None when none).
        window_id: The monitor window that fired it (None when the value came from elsewhere).
        fired_at_ms: When it fired.
        resolved_at_ms: When it resolved (None while firing).
        message: One line for people.
    """

    id: str
    rule: str
    kind: str
    state: AlertState
    severity: AlertSeverity
    subject: str
    value: float
    bound: float
    deployment: str = ""
    model: str = ""
    version: int | None = None
    window_id: str | None = None
    fired_at_ms: int = 0
    resolved_at_ms: int | None = None
    message: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, int | None]:
        """What identifies "the same alert" across evaluations: rule, deployment, subject,
        model and version."""
        return (self.rule, self.deployment, self.subject, self.model, self.version)

    @property
    def firing(self) -> bool:
        """True while the alert has not resolved."""
        return self.state is AlertState.FIRING

    def resolved(self, at_ms: int) -> Alert:
        """This alert, resolved at ``at_ms``."""
        return replace(self, state=AlertState.RESOLVED, resolved_at_ms=at_ms)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (webhook bodies, ``loopml monitor alerts --json``)."""
        return {
            "id": self.id,
            "rule": self.rule,
            "kind": str(self.kind),
            "state": self.state.value,
            "severity": self.severity.value,
            "subject": self.subject,
            "value": self.value,
            "bound": self.bound,
            "deployment": self.deployment,
            "model": self.model,
            "version": self.version,
            "window_id": self.window_id,
            "fired_at_ms": self.fired_at_ms,
            "resolved_at_ms": self.resolved_at_ms,
            "message": self.message,
        }
