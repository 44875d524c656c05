"""The newest stored monitor window of each target, as the gauges a ``/metrics`` shows.

The agent and every prediction server expose the monitor's latest figures
(``loopml_monitor_drift``, ``_drift_alarm``, ``_metric``) read from the store, so a window
computed anywhere (a ``loopml monitor`` run, the agent) appears on the next scrape of
each of them. A prediction server narrows the snapshot to what it serves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml.monitoring._exporter import DriftGauge, MetricGauge, MonitorSnapshot

if TYPE_CHECKING:
    from collections.abc import Collection

    from loopml.entities import MonitorWindow
    from loopml.workspace import Workspace

#: How many of the newest windows are looked at to find each target's latest one.
RECENT_WINDOWS = 200


def monitor_snapshot(
    ws: Workspace,
    *,
    deployments: Collection[str] | None = None,
    models: Collection[str] | None = None,
) -> MonitorSnapshot:
    """The gauges of the newest complete window of each monitored scope and plan.

    Args:
        ws: The workspace whose store holds the windows.
        deployments: Keep only windows of these deployments (``None``: any).
        models: Keep only windows of these registered models (``None``: any). With both
            given, a window is kept when it is one of the deployments' own, or a
            model-level window (no deployment) of one of the models: what a deployment's
            router serves.
    """
    from loopml.monitoring._stream import window_values

    newest: dict[tuple[str, str], MonitorWindow] = {}
    for window in ws.store.list_monitor_windows(limit=RECENT_WINDOWS, newest_first=True):
        if window.complete and _wanted(window, deployments, models):
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


def _wanted(
    window: MonitorWindow,
    deployments: Collection[str] | None,
    models: Collection[str] | None,
) -> bool:
    if deployments is None and models is None:
        return True
    if deployments is not None and window.deployment in deployments:
        return True
    if models is None or window.model not in models:
        return False
    return deployments is None or not window.deployment
