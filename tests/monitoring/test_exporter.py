"""MonitorMetrics: the latest drift and performance results as gauges in a registry."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from loopml.errors import InvalidInput
from loopml.monitoring import DriftGauge, MetricGauge, MonitorMetrics, MonitorSnapshot


def _samples(reg: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(reg).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_gauges_show_the_latest_snapshot_only() -> None:
    reg = CollectorRegistry()
    mm = MonitorMetrics(reg)
    mm.publish(
        drift=[
            DriftGauge("fraud", "fraud", 3, "amount", "psi", 0.31, alarm=True),
            DriftGauge("fraud", "fraud", 3, "hour", "psi", 0.02),
        ],
        metrics=[
            MetricGauge("fraud", "fraud", 3, "accuracy", "realised", 0.91, bound=0.85),
            MetricGauge("fraud", "fraud", 3, "accuracy", "estimated", 0.93),
        ],
    )
    got = _samples(reg)
    amount = (("deployment", "fraud"), ("feature", "amount"), ("model", "fraud"),
              ("statistic", "psi"), ("version", "3"))  # fmt: skip
    assert got[("loopml_monitor_drift", amount)] == pytest.approx(0.31)
    assert got[("loopml_monitor_drift_alarm", amount)] == 1.0
    realised = (("deployment", "fraud"), ("kind", "realised"), ("metric", "accuracy"),
                ("model", "fraud"), ("version", "3"))  # fmt: skip
    assert got[("loopml_monitor_metric", realised)] == pytest.approx(0.91)
    assert got[("loopml_monitor_metric_bound", realised)] == pytest.approx(0.85)
    bounds = [k for k in got if k[0] == "loopml_monitor_metric_bound"]
    assert len(bounds) == 1  # the estimated figure has no bound

    mm.publish(drift=[DriftGauge("fraud", "fraud", 4, "hour", "psi", math.nan)])
    again = _samples(reg)
    assert not [k for k in again if k[0] == "loopml_monitor_metric"]
    assert not [k for k in again if dict(k[1]).get("feature") == "amount"]
    assert [k for k in again if k[0] == "loopml_monitor_drift"] == []  # NaN is not exposed
    assert [v for k, v in again.items() if k[0] == "loopml_monitor_drift_alarm"] == [0.0]


def test_a_source_is_read_on_every_scrape() -> None:
    calls = []

    def source() -> MonitorSnapshot:
        calls.append(1)
        return MonitorSnapshot(drift=(DriftGauge("d", "m", None, "x", "ks", len(calls)),))

    reg = CollectorRegistry()
    MonitorMetrics(reg, source=source)
    first = _samples(reg)
    second = _samples(reg)
    key = next(k for k in first if k[0] == "loopml_monitor_drift")
    assert dict(key[1])["version"] == ""
    assert second[key] > first[key]


def test_an_unknown_metric_kind_is_refused() -> None:
    with pytest.raises(InvalidInput, match="realised, estimated"):
        MonitorMetrics().publish(metrics=[MetricGauge("d", "m", 1, "auc", "guessed", 0.5)])
