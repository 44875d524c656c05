"""The monitor's gauges on the agent's ``/metrics``: the newest stored window of each target.

The agent is the process that acts on monitor windows, so its ``/metrics`` shows what it
acts on: per-feature drift effect sizes and alarms, realised and estimated metrics, as
:class:`loopml.monitoring.MonitorMetrics` renders them (``loopml_monitor_drift``,
``loopml_monitor_drift_alarm``, ``loopml_monitor_metric``). They are read from the store at
each scrape, so a window computed anywhere (a ``loopml monitor`` run, another agent)
appears on the next scrape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loopml.entities import MonitorWindow
    from loopml.monitoring import MonitorSnapshot
    from loopml.workspace import Workspace

#: How many of the newest windows are looked at to find each target's latest one.
RECENT_WINDOWS = 200


def monitor_snapshot(ws: Workspace) -> MonitorSnapshot:
    """The gauges of the newest complete window of each monitored scope and plan."""
    from loopml.monitoring import DriftGauge, MetricGauge, MonitorSnapshot, window_values

    newest: dict[tuple[str, str], MonitorWindow] = {}
    for window in ws.store.list_monitor_windows(limit=RECENT_WINDOWS, newest_first=True):
        if window.complete:
            newest.setdefault((window.scope, window.plan), window)
    drift: list[DriftGauge] = []
    metrics: list[MetricGauge] = []
    for window in newest.values():
        for v in window_values(window):
            if v.kind == "drift":
                drift.append(
                    DriftGauge(
                        v.deployment, v.model, v.version, v.subject, v.statistic, v.value, v.alarm
                    )
                )
            else:
                kind = "realised" if v.kind == "metric" else "estimated"
                metrics.append(
                    MetricGauge(v.deployment, v.model, v.version, v.subject, kind, v.value)
                )
    return MonitorSnapshot(tuple(drift), tuple(metrics))


def monitor_text(ws: Workspace) -> str:
    """The monitor gauges as Prometheus exposition text."""
    from prometheus_client import CollectorRegistry, generate_latest

    from loopml.monitoring import MonitorMetrics

    registry = CollectorRegistry(auto_describe=False)
    MonitorMetrics(registry, source=lambda: monitor_snapshot(ws))
    return generate_latest(registry).decode()
