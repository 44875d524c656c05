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
    from loopml.monitoring._drift import drift
    from loopml.monitoring._exporter import (
        DriftGauge,
        MetricGauge,
        MonitorMetrics,
        MonitorSnapshot,
        drift_gauges,
    )
    from loopml.monitoring._features import feature_drift
    from loopml.monitoring._report import DriftReport, FeatureDrift, TestResult
    from loopml.monitoring._rules import RuleOptions, prometheus_rules, rules_yaml
    from loopml.monitoring._spec import FeatureSpec, MonitorSpec, load_spec, parse_spec

_LAZY = {
    "Alert": "loopml.entities:Alert",
    "AlertEvaluation": "loopml.monitoring._alerts:AlertEvaluation",
    "AlertRule": "loopml.monitoring._alerts:AlertRule",
    "AlertSink": "loopml.monitoring._alerts_delivery:AlertSink",
    "AlertState": "loopml.entities:AlertState",
    "AlertTracker": "loopml.monitoring._alerts:AlertTracker",
    "AlertmanagerSink": "loopml.monitoring._alerts_delivery:AlertmanagerSink",
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
    "RuleOptions": "loopml.monitoring._rules:RuleOptions",
    "TestResult": "loopml.monitoring._report:TestResult",
    "WebhookSink": "loopml.monitoring._alerts_delivery:WebhookSink",
    "check_alerts": "loopml.monitoring._alerts_service:check_alerts",
    "dashboard_json": "loopml.monitoring._dashboard:dashboard_json",
    "drift": "loopml.monitoring._drift:drift",
    "feature_drift": "loopml.monitoring._features:feature_drift",
    "drift_gauges": "loopml.monitoring._exporter:drift_gauges",
    "drift_values": "loopml.monitoring._alerts:drift_values",
    "evaluate_alerts": "loopml.monitoring._alerts:evaluate_alerts",
    "grafana_dashboard": "loopml.monitoring._dashboard:grafana_dashboard",
    "list_alerts": "loopml.monitoring._alerts_service:list_alerts",
    "load_alert_rules": "loopml.monitoring._alerts_spec:load_alert_rules",
    "load_spec": "loopml.monitoring._spec:load_spec",
    "load_tracker": "loopml.monitoring._alerts_service:load_tracker",
    "parse_alert_rules": "loopml.monitoring._alerts_spec:parse_alert_rules",
    "parse_spec": "loopml.monitoring._spec:parse_spec",
    "prometheus_rules": "loopml.monitoring._rules:prometheus_rules",
    "record_alerts": "loopml.monitoring._alerts_service:record_alerts",
    "rules_yaml": "loopml.monitoring._rules:rules_yaml",
}

__all__ = [
    "Alert",
    "AlertEvaluation",
    "AlertRule",
    "AlertSink",
    "AlertState",
    "AlertTracker",
    "AlertmanagerSink",
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
    "RuleOptions",
    "TestResult",
    "WebhookSink",
    "check_alerts",
    "dashboard_json",
    "drift",
    "drift_gauges",
    "drift_values",
    "evaluate_alerts",
    "feature_drift",
    "grafana_dashboard",
    "list_alerts",
    "load_alert_rules",
    "load_spec",
    "load_tracker",
    "parse_alert_rules",
    "parse_spec",
    "prometheus_rules",
    "record_alerts",
    "rules_yaml",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__, globals())
