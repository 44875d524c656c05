"""The monitor's latest results as Prometheus gauges, in a registry the caller owns.

:class:`MonitorMetrics` is a custom collector: each scrape renders the snapshot last given
to :meth:`MonitorMetrics.publish` (or, with a ``source``, asks for a fresh one), so a
feature that left the window disappears from ``/metrics`` instead of keeping a stale
value. The prediction server adds one to its own registry (monitoring sits below serving,
so serving imports this and never the reverse); the values come from stored monitor
windows or from anything with the attributes of :class:`DriftPoint` and
:class:`MetricPoint`.

Gauges (one series per label set):

- ``loopml_monitor_drift{deployment, model, version, feature, statistic}``: effect size;
- ``loopml_monitor_drift_alarm{...same}``: 1 when the statistic is significant, else 0;
- ``loopml_monitor_metric{deployment, model, version, metric, kind}``: ``kind`` is
  ``realised`` (from labels) or ``estimated`` (before labels);
- ``loopml_monitor_metric_bound{...same}``: the lower bound of a metric, when one is set.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

    from loopml.monitoring._report import DriftReport

PREFIX = "loopml_monitor"
METRIC_KINDS = ("realised", "estimated")
_DRIFT_LABELS = ("deployment", "model", "version", "feature", "statistic")
_METRIC_LABELS = ("deployment", "model", "version", "metric", "kind")


class DriftPoint(Protocol):
    """What the exporter reads from one drift result (a stored window's feature test)."""

    @property
    def deployment(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def version(self) -> int | str | None: ...
    @property
    def feature(self) -> str: ...
    @property
    def statistic(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def alarm(self) -> bool: ...


class MetricPoint(Protocol):
    """What the exporter reads from one realised or estimated performance figure."""

    @property
    def deployment(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def version(self) -> int | str | None: ...
    @property
    def metric(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def bound(self) -> float | None: ...


@dataclass(frozen=True)
class DriftGauge:
    """One drift statistic of one feature (a plain :class:`DriftPoint`)."""

    deployment: str
    model: str
    version: int | str | None
    feature: str
    statistic: str
    value: float
    alarm: bool = False


@dataclass(frozen=True)
class MetricGauge:
    """One realised or estimated metric (a plain :class:`MetricPoint`)."""

    deployment: str
    model: str
    version: int | str | None
    metric: str
    kind: str
    value: float
    bound: float | None = None


@dataclass(frozen=True)
class MonitorSnapshot:
    """The latest monitor results to expose."""

    drift: tuple[DriftPoint, ...] = ()
    metrics: tuple[MetricPoint, ...] = ()


def _version(v: int | str | None) -> str:
    return "" if v is None else str(v)


class MonitorMetrics:
    """Publishes the latest drift and performance results as gauges in ``registry``.

    Args:
        registry: The registry to add the gauges to (the prediction server's own).
        source: Called on every scrape for a fresh :class:`MonitorSnapshot` (e.g. read
            from the store); without it, the snapshot is the last one :meth:`publish` got.

    Example:
        >>> from prometheus_client import CollectorRegistry, generate_latest
        >>> reg = CollectorRegistry()
        >>> mm = MonitorMetrics(reg)
        >>> mm.publish(drift=[DriftGauge("fraud", "fraud", 3, "amount", "psi", 0.31, True)])
        >>> b'loopml_monitor_drift_alarm{deployment="fraud"' in generate_latest(reg)
        True
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        source: Callable[[], MonitorSnapshot] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._snapshot = MonitorSnapshot()
        self._source = source
        if registry is not None:
            registry.register(self)

    def publish(
        self, drift: Iterable[DriftPoint] = (), metrics: Iterable[MetricPoint] = ()
    ) -> None:
        """Replace what the gauges show with these results (the rest disappear)."""
        snapshot = MonitorSnapshot(tuple(drift), tuple(metrics))
        for m in snapshot.metrics:
            if m.kind not in METRIC_KINDS:
                raise InvalidInput(
                    f"metric {m.metric!r} has kind {m.kind!r}",
                    hint=f"Use one of {', '.join(METRIC_KINDS)}.",
                )
        with self._lock:
            self._snapshot = snapshot

    def snapshot(self) -> MonitorSnapshot:
        """What the next scrape shows."""
        if self._source is not None:
            return self._source()
        with self._lock:
            return self._snapshot

    def describe(self) -> list[Metric]:
        """No fixed description: the series change with every snapshot."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The gauges of the current snapshot (called by the registry on each scrape)."""
        from prometheus_client.core import GaugeMetricFamily

        snap = self.snapshot()
        drift = GaugeMetricFamily(
            f"{PREFIX}_drift",
            "Drift effect size of a feature in the latest monitor window",
            labels=_DRIFT_LABELS,
        )
        alarm = GaugeMetricFamily(
            f"{PREFIX}_drift_alarm",
            "1 when the feature's drift is significant in the latest window, else 0",
            labels=_DRIFT_LABELS,
        )
        for d in snap.drift:
            labels = [d.deployment, d.model, _version(d.version), d.feature, d.statistic]
            if not math.isnan(float(d.value)):
                drift.add_metric(labels, float(d.value))
            alarm.add_metric(labels, 1.0 if d.alarm else 0.0)
        metric = GaugeMetricFamily(
            f"{PREFIX}_metric",
            "Realised (from labels) or estimated (before labels) performance",
            labels=_METRIC_LABELS,
        )
        bound = GaugeMetricFamily(
            f"{PREFIX}_metric_bound",
            "The lower bound a performance metric must stay above",
            labels=_METRIC_LABELS,
        )
        for m in snap.metrics:
            labels = [m.deployment, m.model, _version(m.version), m.metric, m.kind]
            if not math.isnan(float(m.value)):
                metric.add_metric(labels, float(m.value))
            if m.bound is not None:
                bound.add_metric(labels, float(m.bound))
        yield from (drift, alarm, metric, bound)


def drift_gauges(
    report: DriftReport, *, deployment: str, model: str = "", version: int | str | None = None
) -> list[DriftGauge]:
    """The gauges of a :class:`~loopml.monitoring.DriftReport`: one per feature and test
    (effect size; alarm when that test drifted), predictions included."""
    out = []
    for feature in (*report.features, *report.predictions):
        for test in feature.tests:
            if test.effect_size is None:
                continue
            out.append(
                DriftGauge(
                    deployment,
                    model,
                    version,
                    feature.column,
                    test.test,
                    float(test.effect_size),
                    alarm=test.drifted,
                )  # fmt: skip
            )
    return out
