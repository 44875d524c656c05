"""The demo's monitor: windows of the prediction log, alerts on them, the trigger's signal.

Each :meth:`Monitor.cycle` seals the live prediction logs, computes the stored monitor
windows of the deployment being served (count windows; drift of every input against the
champion's training-data profile at thresholds calibrated to the window's size, realised
metrics from the labels that have arrived), and checks two alert rules on each new
complete window: a feature drifted (the monitor's own verdict after its FDR correction)
and the live ROC-AUC fell under a bound. :func:`drift_signal` is the drift trigger's
``condition.source``: the share of drifted inputs in the newest window, with the alert
and the window that caused it (so the chain's lineage runs back to them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopml.entities import AlertState
from loopml.monitoring import (
    AlertRule,
    MonitoredValue,
    check_alerts,
    compute_windows,
    load_tracker,
    window_report,
)
from loopml.serving import live_logs

if TYPE_CHECKING:
    from loopml.entities import MonitorWindow
    from loopml.entities.trigger import Trigger
    from loopml.monitoring import AlertTracker
    from loopml.workspace import Workspace

DRIFT_RULE = "demo-feature-drift"
DECAY_RULE = "demo-live-auc"
AUC_BOUND = 0.75
#: The drift trigger fires when at least this share of the inputs drifted in a window.
DRIFT_SHARE = 0.25


def alert_rules() -> list[AlertRule]:
    """Drift: a feature the monitor calls drifted; decay: live ROC-AUC under the bound."""
    return [
        AlertRule(DRIFT_RULE, "drift", above=0.5, statistic="drifted", severity="warning"),
        AlertRule(DECAY_RULE, "metric", below=AUC_BOUND, subject="auc", severity="critical"),
    ]


@dataclass(frozen=True)
class FeatureEffect:
    """The strongest test of one drifted feature: effect size against its threshold."""

    feature: str
    test: str
    effect: float
    threshold: float


@dataclass(frozen=True)
class WindowFigure:
    """One complete window, as the demo narrates it."""

    window_id: str
    deployment: str
    version: int | None
    rows: int
    drifted: tuple[FeatureEffect, ...]
    share: float
    auc: float | None
    labelled: int
    alerts: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain values for ``--json``."""
        return {
            "window_id": self.window_id,
            "deployment": self.deployment,
            "version": self.version,
            "rows": self.rows,
            "drifted": [e.__dict__ for e in self.drifted],
            "drift_share": self.share,
            "auc": self.auc,
            "labelled": self.labelled,
            "alerts": list(self.alerts),
        }


def _inputs(window: MonitorWindow) -> dict[str, bool]:
    return {
        column: bool(item.get("drifted"))
        for column, item in window.drift.items()
        if not column.startswith("__")
        and isinstance(item, dict)
        and item.get("role") != "prediction"
    }


def drift_share(window: MonitorWindow) -> float:
    """The share of the window's input features that drifted."""
    inputs = _inputs(window)
    return sum(inputs.values()) / len(inputs) if inputs else 0.0


def _effects(window: MonitorWindow, ws: Workspace) -> tuple[FeatureEffect, ...]:
    report = window_report(window, ws)
    if report is None:
        return ()
    out = []
    for feature in report.features:
        if not feature.drifted:
            continue
        tests = [t for t in feature.tests if t.effect_size is not None and t.threshold]
        if tests:
            best = max(tests, key=lambda t: float(t.effect_size) / float(t.threshold))
            out.append(
                FeatureEffect(
                    feature.column, best.test, float(best.effect_size), float(best.threshold)
                )
            )
    return tuple(sorted(out, key=lambda e: -e.effect / e.threshold))


def _values(window: MonitorWindow) -> list[MonitoredValue]:
    common: dict[str, Any] = {
        "deployment": window.deployment or "",
        "model": window.model or "",
        "version": window.version,
        "window_id": window.id,
    }
    values = [
        MonitoredValue("drift", column, 1.0 if drifted else 0.0, statistic="drifted", **common)
        for column, drifted in _inputs(window).items()
    ]
    auc = window.realised.get("auc")
    if auc is not None and math.isfinite(auc):
        values.append(MonitoredValue("metric", "auc", float(auc), **common))
    return values


@dataclass
class Monitor:
    """Computes windows and checks alerts after each stretch of traffic."""

    ws: Workspace
    window_rows: int
    figures: list[WindowFigure] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)
    _tracker: AlertTracker | None = None

    def cycle(self, deployment: str) -> list[WindowFigure]:
        """New complete windows of ``deployment`` since the last cycle, alerts checked."""
        live_logs(self.ws).seal()
        windows = compute_windows(deployment, window=str(self.window_rows), workspace=self.ws)
        if self._tracker is None:
            self._tracker = load_tracker(workspace=self.ws)
        new = []
        for window in windows:
            if not window.complete or window.id in self._seen:
                continue
            self._seen.add(window.id)
            evaluation = check_alerts(
                alert_rules(), _values(window), self._tracker, workspace=self.ws
            )
            self._tracker = evaluation.tracker
            auc = window.realised.get("auc")
            figure = WindowFigure(
                window_id=window.id,
                deployment=deployment,
                version=window.version,
                rows=window.rows,
                drifted=_effects(window, self.ws),
                share=drift_share(window),
                auc=None if auc is None or not math.isfinite(auc) else float(auc),
                labelled=window.labelled,
                alerts=tuple(f"{a.rule}:{a.subject}" for a in evaluation.fired),
            )
            new.append(figure)
        self.figures.extend(new)
        return new


def drift_signal(trigger: Trigger, workspace: Workspace) -> dict[str, Any] | None:
    """The drift trigger's source: the newest complete window of the trigger's model.

    Returns ``value`` (share of drifted inputs), ``monitor_window`` and, while one fires
    on that deployment, the drift ``alert``; None before any window exists.
    """
    windows = [
        w
        for w in workspace.store.list_monitor_windows(limit=50, newest_first=True)
        if w.complete and w.model == trigger.model
    ]
    if not windows:
        return None
    newest = windows[0]
    out: dict[str, Any] = {"value": drift_share(newest), "monitor_window": newest.id}
    # an alert keeps firing across windows while its feature stays drifted: the newest of
    # this deployment's firing drift alerts is the one that stands for this window
    for alert in workspace.store.list_alerts(state=AlertState.FIRING, rule=DRIFT_RULE, limit=50):
        if alert.deployment == (newest.deployment or "") and out["value"] > 0:
            out["alert"] = alert.id
            break
    return out


def auc_signal(trigger: Trigger, workspace: Workspace) -> dict[str, Any] | None:
    """The performance trigger's source: the newest complete window's realised ROC-AUC."""
    for window in workspace.store.list_monitor_windows(limit=50, newest_first=True):
        if window.complete and window.model == trigger.model:
            auc = window.realised.get("auc")
            if auc is None or not math.isfinite(auc):
                return None
            return {"value": float(auc), "monitor_window": window.id}
    return None
