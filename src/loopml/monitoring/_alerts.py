"""Alert rules and their evaluation: latest values + what is firing -> transitions.

A rule watches one kind of monitored quantity (a drift statistic, a realised or estimated
metric, the error rate, a latency percentile), optionally narrowed by glob patterns on the
subject (feature, metric, percentile), the drift statistic and the deployment, and fires
when the value is strictly ``above`` (or ``below``) its bound:

- **for-duration**: the value must breach the bound in every evaluation for ``for_s``
  seconds before the alert fires (``0``: on the first breach); a value back inside the
  bound resets the wait;
- **cool-down**: after an alert resolves, the same alert (same rule, deployment, subject,
  model and version) does not fire again for ``cooldown_s`` seconds, so a value hovering
  at its bound does not page every few minutes;
- an alert resolves on the first evaluation whose value is back inside the bound; a
  quantity missing from an evaluation changes nothing (no data is not good news).

:func:`evaluate_alerts` is pure: it takes the rules, the latest values and the
:class:`AlertTracker` of the previous evaluation and returns the transitions with the next
tracker. Storing and delivering them is :func:`loopml.monitoring.record_alerts`.
"""

from __future__ import annotations

import fnmatch
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from loopml.entities import Alert, AlertKind, AlertSeverity, AlertState
from loopml.errors import InvalidInput
from loopml.ids import new_id

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from loopml.monitoring._report import DriftReport

AlertKey = tuple[str, str, str, str, int | None]


def _kind(value: AlertKind | str) -> AlertKind:
    try:
        return AlertKind(value)
    except ValueError:
        raise InvalidInput(
            f"alert kind {value!r} is not one of {', '.join(k.value for k in AlertKind)}",
            hint="Watch drift, metric, estimated_metric, error_rate or latency.",
        ) from None


def _severity(value: AlertSeverity | str) -> AlertSeverity:
    try:
        return AlertSeverity(value)
    except ValueError:
        raise InvalidInput(
            f"alert severity {value!r} is not one of {', '.join(s.value for s in AlertSeverity)}",
            hint="Use info, warning or critical.",
        ) from None


@dataclass(frozen=True)
class MonitoredValue:
    """The latest value of one monitored quantity.

    Attributes:
        kind: What it is (an :class:`~loopml.entities.AlertKind` value).
        subject: The feature (drift), the metric name (metric, estimated_metric), the
            percentile (latency: ``p99``) or ``""`` (error_rate).
        value: The value (a drift effect size, a metric, errors per request, seconds).
        deployment: The deployment it was measured on.
        model: The model it concerns.
        version: The model version.
        window_id: The monitor window it comes from (the alert links to it).
        statistic: The drift statistic (``psi``, ``ks``...); ``""`` for other kinds.
    """

    kind: AlertKind | str
    subject: str
    value: float
    deployment: str = ""
    model: str = ""
    version: int | None = None
    window_id: str | None = None
    statistic: str = ""


@dataclass(frozen=True)
class AlertRule:
    """Fire when a monitored quantity is strictly above (or below) a bound.

    Args:
        name: The rule's name (the alert's ``rule``; Alertmanager's ``alertname``).
        kind: The kind of quantity it watches.
        above: Fire when the value is greater than this.
        below: Fire when the value is less than this (give exactly one of the two).
        severity: info, warning or critical.
        for_s: Seconds the breach must last before the alert fires.
        cooldown_s: Seconds after a resolution before the same alert may fire again.
        subject: Glob on the subject (feature, metric, percentile); ``*``: any.
        statistic: Glob on the drift statistic; ``*``: any.
        deployment: Glob on the deployment; ``*``: any.

    Example:
        >>> rule = AlertRule("drift", "drift", above=0.2, subject="amount")
        >>> rule.breached(0.25), rule.breached(0.1)
        (True, False)
    """

    name: str
    kind: AlertKind | str
    above: float | None = None
    below: float | None = None
    severity: AlertSeverity | str = AlertSeverity.WARNING
    for_s: float = 0.0
    cooldown_s: float = 0.0
    subject: str = "*"
    statistic: str = "*"
    deployment: str = "*"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not 0 < len(self.name) <= 255:
            raise InvalidInput(f"alert rule name {self.name!r} must be 1-255 characters")
        object.__setattr__(self, "kind", _kind(self.kind))
        object.__setattr__(self, "severity", _severity(self.severity))
        if (self.above is None) == (self.below is None):
            raise InvalidInput(
                f"alert rule {self.name!r} needs exactly one of above or below",
                hint="Say `above: 0.2` to fire on high values, `below: 0.8` on low ones.",
            )
        bound = self.above if self.above is not None else self.below
        if isinstance(bound, bool) or not isinstance(bound, int | float) or math.isnan(bound):
            raise InvalidInput(f"alert rule {self.name!r}: the bound must be a number")
        for what, seconds in (("for", self.for_s), ("cooldown", self.cooldown_s)):
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise InvalidInput(
                    f"alert rule {self.name!r}: {what} must be seconds >= 0, got {seconds!r}"
                )

    @property
    def bound(self) -> float:
        """The bound the value is compared with."""
        return float(self.above if self.above is not None else self.below)  # type: ignore[arg-type]

    @property
    def direction(self) -> str:
        """``>`` or ``<``: how a breaching value compares with the bound."""
        return ">" if self.above is not None else "<"

    def breached(self, value: float) -> bool:
        """Whether ``value`` is outside the bound (NaN never is)."""
        if math.isnan(value):
            return False
        return value > self.bound if self.above is not None else value < self.bound

    def matches(self, value: MonitoredValue) -> bool:
        """Whether this rule watches ``value``."""
        return (
            AlertKind(value.kind) is self.kind
            and fnmatch.fnmatchcase(value.subject, self.subject)
            and fnmatch.fnmatchcase(value.deployment, self.deployment)
            and (not value.statistic or fnmatch.fnmatchcase(value.statistic, self.statistic))
        )


def subject_of(value: MonitoredValue) -> str:
    """The alert subject of a value: the subject, with the drift statistic after a ``/``."""
    return f"{value.subject}/{value.statistic}" if value.statistic else value.subject


def key_of(rule: AlertRule, value: MonitoredValue) -> AlertKey:
    """What identifies "the same alert": rule, deployment, subject, model, version."""
    return (rule.name, value.deployment, subject_of(value), value.model, value.version)


@dataclass(frozen=True)
class AlertTracker:
    """What one evaluation hands the next: firing alerts, breaches waiting out their
    for-duration, and when each alert last resolved (for the cool-down).

    Rebuild it from the store with :func:`loopml.monitoring.load_tracker` after a
    restart (the waits of pending breaches start again).
    """

    firing: Mapping[AlertKey, Alert] = field(default_factory=dict)
    pending: Mapping[AlertKey, int] = field(default_factory=dict)
    resolved_at: Mapping[AlertKey, int] = field(default_factory=dict)

    @classmethod
    def from_alerts(cls, alerts: Iterable[Alert]) -> AlertTracker:
        """A tracker from stored alerts: the firing ones, and the latest resolution of each."""
        firing: dict[AlertKey, Alert] = {}
        resolved: dict[AlertKey, int] = {}
        for alert in alerts:
            if alert.state is AlertState.FIRING:
                firing[alert.key] = alert
            elif alert.resolved_at_ms is not None:
                resolved[alert.key] = max(resolved.get(alert.key, 0), alert.resolved_at_ms)
        return cls(firing=firing, resolved_at=resolved)


@dataclass(frozen=True)
class AlertEvaluation:
    """The outcome of :func:`evaluate_alerts`.

    Attributes:
        fired: Alerts that fired now (state firing, new ids).
        resolved: Alerts that resolved now (state resolved).
        tracker: What to pass to the next evaluation.
    """

    fired: tuple[Alert, ...]
    resolved: tuple[Alert, ...]
    tracker: AlertTracker

    @property
    def transitions(self) -> tuple[Alert, ...]:
        """Every alert that changed state, fired ones first."""
        return self.fired + self.resolved

    @property
    def firing(self) -> list[Alert]:
        """Every alert firing after this evaluation."""
        return list(self.tracker.firing.values())


def _message(rule: AlertRule, value: MonitoredValue) -> str:
    where = f" on {value.deployment}" if value.deployment else ""
    what = subject_of(value) or str(rule.kind)
    return (
        f"{rule.name}: {rule.kind} {what}{where} is {value.value:.4g} "
        f"({rule.direction} {rule.bound:g})"
    )


def evaluate_alerts(
    rules: Sequence[AlertRule],
    values: Iterable[MonitoredValue],
    tracker: AlertTracker | None = None,
    *,
    now_ms: int | None = None,
) -> AlertEvaluation:
    """Compare the latest ``values`` with ``rules``; return what fired and what resolved.

    Args:
        rules: The alert rules.
        values: The latest value of each monitored quantity.
        tracker: The previous evaluation's :attr:`AlertEvaluation.tracker` (None: nothing
            firing or pending).
        now_ms: The evaluation time (default: now).

    Example:
        >>> rule = AlertRule("p99", "latency", above=0.5, subject="p99")
        >>> high = MonitoredValue("latency", "p99", 0.9, deployment="fraud")
        >>> first = evaluate_alerts([rule], [high], now_ms=0)
        >>> [a.state.value for a in first.fired]
        ['firing']
        >>> low = MonitoredValue("latency", "p99", 0.1, deployment="fraud")
        >>> [a.state.value for a in evaluate_alerts([rule], [low], first.tracker).resolved]
        ['resolved']
    """
    now = int(time.time() * 1000) if now_ms is None else int(now_ms)
    state = tracker or AlertTracker()
    firing = dict(state.firing)
    pending = dict(state.pending)
    resolved_at = dict(state.resolved_at)
    fired: list[Alert] = []
    resolved: list[Alert] = []
    values = list(values)
    for rule in rules:
        for value in values:
            if not rule.matches(value) or math.isnan(float(value.value)):
                continue
            key = key_of(rule, value)
            if not rule.breached(float(value.value)):
                pending.pop(key, None)
                if key in firing:
                    done = firing.pop(key).resolved(now)
                    resolved_at[key] = now
                    resolved.append(done)
                continue
            if key in firing:
                continue
            since = pending.setdefault(key, now)
            waited = now - since >= rule.for_s * 1000
            cooled = now - resolved_at.get(key, -(10**18)) >= rule.cooldown_s * 1000
            if not (waited and cooled):
                continue
            alert = Alert(
                id=new_id(),
                rule=rule.name,
                kind=str(rule.kind),
                state=AlertState.FIRING,
                severity=AlertSeverity(rule.severity),
                subject=subject_of(value),
                value=float(value.value),
                bound=rule.bound,
                deployment=value.deployment,
                model=value.model,
                version=value.version,
                window_id=value.window_id,
                fired_at_ms=now,
                message=_message(rule, value),
            )
            pending.pop(key, None)
            firing[key] = alert
            fired.append(alert)
    return AlertEvaluation(
        tuple(fired), tuple(resolved), AlertTracker(firing, pending, resolved_at)
    )


def drift_values(
    report: DriftReport,
    *,
    deployment: str = "",
    model: str = "",
    version: int | None = None,
    window_id: str | None = None,
) -> list[MonitoredValue]:
    """The monitored values of a :class:`~loopml.monitoring.DriftReport`, for alert rules.

    One ``drift`` value per feature and test (its effect size, ``statistic`` the test's
    name), and one with ``statistic="drifted"`` per feature: 1.0 when the feature drifted
    at its calibrated threshold after the FDR correction, else 0.0 (a rule
    ``statistic: drifted, above: 0.5`` alerts on the monitor's own verdict).
    """
    out = []
    for feature in (*report.features, *report.predictions):
        common = {
            "deployment": deployment,
            "model": model,
            "version": version,
            "window_id": window_id,
        }
        for test in feature.tests:
            if test.effect_size is not None:
                out.append(
                    MonitoredValue(
                        "drift",
                        feature.column,
                        float(test.effect_size),
                        statistic=test.test,
                        **common,  # type: ignore[arg-type]
                    )  # fmt: skip
                )
        out.append(
            MonitoredValue(
                "drift",
                feature.column,
                1.0 if feature.drifted else 0.0,
                statistic="drifted",
                **common,  # type: ignore[arg-type]
            )  # fmt: skip
        )
    return out
