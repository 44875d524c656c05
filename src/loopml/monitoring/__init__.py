"""Monitoring: drift statistics with calibrated thresholds, live and estimated performance,
alerts, Prometheus rules and Grafana dashboards.

``drift(reference, current)`` compares a window (DataFrame, Arrow table, file or dataset
version) with a reference's stored profile, per column, and reports each statistic with its
effect size, a bootstrap interval, the threshold calibrated to the window's size and the
verdict after a Benjamini–Hochberg correction across features (see docs/monitoring.md).
``evaluate_alerts`` turns the latest monitored values into firing/resolved alerts (with
for-duration and cool-down), ``record_alerts`` stores and delivers them (signed webhooks,
the log, Alertmanager), ``list_alerts`` reads them back. ``rules_yaml`` and
``dashboard_json`` write Prometheus rules and a Grafana dashboard for a deployment, and
``MonitorMetrics`` publishes the latest results as gauges in a Prometheus registry.
Windows of the prediction log (``compute_windows``, incremental, mergeable sketches),
concept-drift detectors (``ADWIN``, ``DDM``, ``PageHinkley``), realised and estimated
(CBPE) performance and the HTML report are here too.
The names load on first use (``import loopml.monitoring`` does not import pyarrow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml.plugins import lazy_exports

if TYPE_CHECKING:
    from loopml.entities import Alert, AlertState
    from loopml.monitoring._alerts import (
        AlertEvaluation,
        AlertRule,
        AlertTracker,
        MonitoredValue,
        drift_values,
        evaluate_alerts,
    )
    from loopml.monitoring._alerts_delivery import AlertmanagerSink, AlertSink, LogSink, WebhookSink
    from loopml.monitoring._alerts_service import (
        check_alerts,
        list_alerts,
        load_tracker,
        record_alerts,
    )
    from loopml.monitoring._alerts_spec import load_alert_rules, parse_alert_rules
    from loopml.monitoring._dashboard import dashboard_json, grafana_dashboard
    from loopml.monitoring._detectors import ADWIN, DDM, PageHinkley, detect_concept_drift
    from loopml.monitoring._drift import drift
    from loopml.monitoring._exporter import (
        DriftGauge,
        MetricGauge,
        MonitorMetrics,
        MonitorSnapshot,
        drift_gauges,
    )
    from loopml.monitoring._features import feature_drift
    from loopml.monitoring._html import lines_svg, monitor_report, render_html
    from loopml.monitoring._performance import (
        Calibration,
        PerformanceReport,
        WindowPerformance,
        estimate_performance,
        fit_calibration,
        performance,
    )
    from loopml.monitoring._report import DriftReport, FeatureDrift, TestResult
    from loopml.monitoring._rules import RuleOptions, prometheus_rules, rules_yaml
    from loopml.monitoring._snapshot import monitor_snapshot
    from loopml.monitoring._spec import FeatureSpec, MonitorSpec, load_spec, parse_spec
    from loopml.monitoring._stream import (
        WindowValue,
        compute_windows,
        latest_windows,
        resolve_target,
        window_report,
        window_sketches,
        window_values,
    )
    from loopml.monitoring._windows import Windowing, parse_window

_LAZY = {
    "ADWIN": "loopml.monitoring._detectors:ADWIN",
    "Alert": "loopml.entities:Alert",
    "AlertEvaluation": "loopml.monitoring._alerts:AlertEvaluation",
    "AlertRule": "loopml.monitoring._alerts:AlertRule",
    "AlertSink": "loopml.monitoring._alerts_delivery:AlertSink",
    "AlertState": "loopml.entities:AlertState",
    "AlertTracker": "loopml.monitoring._alerts:AlertTracker",
    "AlertmanagerSink": "loopml.monitoring._alerts_delivery:AlertmanagerSink",
    "Calibration": "loopml.monitoring._performance:Calibration",
    "DDM": "loopml.monitoring._detectors:DDM",
    "DriftGauge": "loopml.monitoring._exporter:DriftGauge",
    "DriftReport": "loopml.monitoring._report:DriftReport",
    "FeatureDrift": "loopml.monitoring._report:FeatureDrift",
    "FeatureSpec": "loopml.monitoring._spec:FeatureSpec",
    "LogSink": "loopml.monitoring._alerts_delivery:LogSink",
    "MetricGauge": "loopml.monitoring._exporter:MetricGauge",
    "MonitorMetrics": "loopml.monitoring._exporter:MonitorMetrics",
    "MonitorSnapshot": "loopml.monitoring._exporter:MonitorSnapshot",
    "MonitorSpec": "loopml.monitoring._spec:MonitorSpec",
    "MonitoredValue": "loopml.monitoring._alerts:MonitoredValue",
    "PageHinkley": "loopml.monitoring._detectors:PageHinkley",
    "PerformanceReport": "loopml.monitoring._performance:PerformanceReport",
    "RuleOptions": "loopml.monitoring._rules:RuleOptions",
    "TestResult": "loopml.monitoring._report:TestResult",
    "WebhookSink": "loopml.monitoring._alerts_delivery:WebhookSink",
    "WindowPerformance": "loopml.monitoring._performance:WindowPerformance",
    "WindowValue": "loopml.monitoring._stream:WindowValue",
    "Windowing": "loopml.monitoring._windows:Windowing",
    "check_alerts": "loopml.monitoring._alerts_service:check_alerts",
    "compute_windows": "loopml.monitoring._stream:compute_windows",
    "dashboard_json": "loopml.monitoring._dashboard:dashboard_json",
    "detect_concept_drift": "loopml.monitoring._detectors:detect_concept_drift",
    "drift": "loopml.monitoring._drift:drift",
    "drift_gauges": "loopml.monitoring._exporter:drift_gauges",
    "drift_values": "loopml.monitoring._alerts:drift_values",
    "estimate_performance": "loopml.monitoring._performance:estimate_performance",
    "evaluate_alerts": "loopml.monitoring._alerts:evaluate_alerts",
    "feature_drift": "loopml.monitoring._features:feature_drift",
    "fit_calibration": "loopml.monitoring._performance:fit_calibration",
    "grafana_dashboard": "loopml.monitoring._dashboard:grafana_dashboard",
    "latest_windows": "loopml.monitoring._stream:latest_windows",
    "lines_svg": "loopml.monitoring._html:lines_svg",
    "list_alerts": "loopml.monitoring._alerts_service:list_alerts",
    "load_alert_rules": "loopml.monitoring._alerts_spec:load_alert_rules",
    "load_spec": "loopml.monitoring._spec:load_spec",
    "load_tracker": "loopml.monitoring._alerts_service:load_tracker",
    "monitor_report": "loopml.monitoring._html:monitor_report",
    "monitor_snapshot": "loopml.monitoring._snapshot:monitor_snapshot",
    "parse_alert_rules": "loopml.monitoring._alerts_spec:parse_alert_rules",
    "parse_spec": "loopml.monitoring._spec:parse_spec",
    "parse_window": "loopml.monitoring._windows:parse_window",
    "performance": "loopml.monitoring._performance:performance",
    "prometheus_rules": "loopml.monitoring._rules:prometheus_rules",
    "record_alerts": "loopml.monitoring._alerts_service:record_alerts",
    "render_html": "loopml.monitoring._html:render_html",
    "resolve_target": "loopml.monitoring._stream:resolve_target",
    "rules_yaml": "loopml.monitoring._rules:rules_yaml",
    "window_report": "loopml.monitoring._stream:window_report",
    "window_sketches": "loopml.monitoring._stream:window_sketches",
    "window_values": "loopml.monitoring._stream:window_values",
}

__all__ = [
    "ADWIN",
    "DDM",
    "Alert",
    "AlertEvaluation",
    "AlertRule",
    "AlertSink",
    "AlertState",
    "AlertTracker",
    "AlertmanagerSink",
    "Calibration",
    "DriftGauge",
    "DriftReport",
    "FeatureDrift",
    "FeatureSpec",
    "LogSink",
    "MetricGauge",
    "MonitorMetrics",
    "MonitorSnapshot",
    "MonitorSpec",
    "MonitoredValue",
    "PageHinkley",
    "PerformanceReport",
    "RuleOptions",
    "TestResult",
    "WebhookSink",
    "WindowPerformance",
    "WindowValue",
    "Windowing",
    "check_alerts",
    "compute_windows",
    "dashboard_json",
    "detect_concept_drift",
    "drift",
    "drift_gauges",
    "drift_values",
    "estimate_performance",
    "evaluate_alerts",
    "feature_drift",
    "fit_calibration",
    "grafana_dashboard",
    "latest_windows",
    "lines_svg",
    "list_alerts",
    "load_alert_rules",
    "load_spec",
    "load_tracker",
    "monitor_report",
    "monitor_snapshot",
    "parse_alert_rules",
    "parse_spec",
    "parse_window",
    "performance",
    "prometheus_rules",
    "record_alerts",
    "render_html",
    "resolve_target",
    "rules_yaml",
    "window_report",
    "window_sketches",
    "window_values",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__, globals())
