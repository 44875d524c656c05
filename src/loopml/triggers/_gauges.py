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
    from loopml.workspace import Workspace


def monitor_text(ws: Workspace) -> str:
    """The monitor gauges as Prometheus exposition text."""
    from prometheus_client import CollectorRegistry, generate_latest

    from loopml.monitoring import MonitorMetrics, monitor_snapshot

    registry = CollectorRegistry(auto_describe=False)
    MonitorMetrics(registry, source=lambda: monitor_snapshot(ws))
    return generate_latest(registry).decode()
