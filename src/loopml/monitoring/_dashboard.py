"""A Grafana dashboard for one deployment (``loopml monitor dashboard``).

The JSON follows Grafana's dashboard model (``schemaVersion`` 39, Grafana 10.4 and
later import it unchanged): templating variables for the Prometheus data source, the
deployment, its arms, its servers and the drifted features, and panels for latency
percentiles, throughput, errors by kind, in-flight requests and the prediction-log queue,
batch sizes, drift per feature, drift alarms, and realised against estimated metrics.
Every query reads the metric names the rules of :mod:`loopml.monitoring._rules` read.
"""

from __future__ import annotations

import json
from typing import Any

from loopml.monitoring._rules import MONITOR, PREDICT_ENDPOINTS, SERVING, check_deployment

SCHEMA_VERSION = 39
#: Grafana's variables in the panels' queries, with a value each takes when checked
#: outside Grafana (tests put every query through ``promtool check rules``).
VARIABLES = ("datasource", "deployment", "arm", "instance", "feature")
_DS = {"type": "prometheus", "uid": "${datasource}"}
_WIDTH = 24


def _uid(deployment: str) -> str:
    import hashlib

    return "loopml-" + hashlib.sha256(deployment.encode()).hexdigest()[:12]


def _target(expr: str, legend: str, ref: str) -> dict[str, Any]:
    return {
        "refId": ref,
        "datasource": _DS,
        "expr": expr,
        "legendFormat": legend,
        "range": True,
        "editorMode": "code",
    }


def _panel(
    pid: int,
    title: str,
    targets: list[tuple[str, str]],
    *,
    unit: str,
    pos: tuple[int, int, int, int],
    kind: str = "timeseries",
    description: str = "",
) -> dict[str, Any]:
    x, y, w, h = pos
    refs = "ABCDEFGH"
    panel: dict[str, Any] = {
        "id": pid,
        "type": kind,
        "title": title,
        "description": description,
        "datasource": _DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [_target(expr, legend, refs[i]) for i, (expr, legend) in enumerate(targets)],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}}
        if kind == "timeseries"
        else {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
    }
    return panel


def _variable(
    name: str, label: str, query: str, *, multi: bool, current: str | None = None
) -> dict[str, Any]:
    value = current if current is not None else "$__all"
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": _DS,
        "query": {"query": query, "refId": f"{name}-variable"},
        "definition": query,
        "refresh": 2,  # on time-range change: new arms and features appear
        "regex": "",
        "sort": 1,
        "multi": multi,
        "includeAll": multi,
        "allValue": ".*" if multi else None,
        "current": {"selected": True, "text": value, "value": value},
        "hide": 0,
        "options": [],
    }


def dashboard_panels() -> list[dict[str, Any]]:
    """The panels (their queries use the dashboard's variables)."""
    dep = 'deployment="$deployment"'
    arm = f'{dep}, arm=~"$arm"'
    traffic = f'{arm}, endpoint=~"{PREDICT_ENDPOINTS}"'
    inst = 'instance=~"$instance"'
    rate = "$__rate_interval"
    bucket = f"{SERVING}_request_duration_seconds_bucket{{{traffic}}}"
    latency = [
        (f"histogram_quantile({q}, sum by (arm, le) (rate({bucket}[{rate}])))", f"p{p} {{{{arm}}}}")
        for q, p in ((0.5, 50), (0.95, 95), (0.99, 99))
    ]
    batch = [
        (
            f"histogram_quantile({q}, sum by (le) (rate({SERVING}_batch_rows_bucket{{{inst}}}"
            f"[{rate}])))",
            f"rows p{p}",
        )
        for q, p in ((0.5, 50), (0.95, 95))
    ] + [
        (
            f"histogram_quantile(0.5, sum by (le) (rate({SERVING}_batch_requests_bucket"
            f"{{{inst}}}[{rate}])))",
            "requests p50",
        )
    ]
    drift_sel = f'{dep}, feature=~"$feature"'
    half = _WIDTH // 2
    return [
        _panel(1, "Latency percentiles", latency, unit="s", pos=(0, 0, half, 8)),
        _panel(
            2,
            "Throughput",
            [(f"sum by (arm) (rate({SERVING}_requests_total{{{traffic}}}[{rate}]))", "{{arm}}")],
            unit="reqps",
            pos=(half, 0, half, 8),
        ),
        _panel(
            3,
            "Errors by kind",
            [(f"sum by (kind) (rate({SERVING}_errors_total{{{arm}}}[{rate}]))", "{{kind}}")],
            unit="reqps",
            pos=(0, 8, half, 8),
        ),
        _panel(
            4,
            "In flight and prediction-log queue",
            [
                (f"sum by (instance) ({SERVING}_in_flight_requests{{{inst}}})", "in flight"),
                (
                    f"sum by (instance) ({SERVING}_prediction_log_queue{{{inst}}})",
                    "log queue {{instance}}",
                ),
            ],
            unit="short",
            pos=(half, 8, half, 8),
        ),
        _panel(5, "Batch sizes", batch, unit="short", pos=(0, 16, half, 8)),
        _panel(
            6,
            "Drift per feature",
            [(f"{MONITOR}_drift{{{drift_sel}}}", "{{feature}} {{statistic}}")],
            unit="short",
            pos=(half, 16, half, 8),
            description="Effect size of each feature's drift in the latest monitor window.",
        ),
        _panel(
            7,
            "Drift alarms",
            [
                (
                    f"max by (feature) ({MONITOR}_drift_alarm{{{drift_sel}}})",
                    "{{feature}}",
                )
            ],
            unit="bool",
            pos=(0, 24, half, 6),
            kind="stat",
        ),
        _panel(
            8,
            "Realised vs estimated metrics",
            [
                (f'{MONITOR}_metric{{{dep}, kind="realised"}}', "{{metric}} realised v{{version}}"),
                (
                    f'{MONITOR}_metric{{{dep}, kind="estimated"}}',
                    "{{metric}} estimated v{{version}}",
                ),
                (f"{MONITOR}_metric_bound{{{dep}}}", "{{metric}} bound"),
            ],
            unit="percentunit",
            pos=(half, 24, half, 6),
        ),
    ]


def grafana_dashboard(deployment: str) -> dict[str, Any]:
    """The dashboard of ``deployment`` as Grafana's dashboard JSON model (a dict).

    Example:
        >>> dash = grafana_dashboard("fraud")
        >>> dash["schemaVersion"], [v["name"] for v in dash["templating"]["list"]][:2]
        (39, ['datasource', 'deployment'])
    """
    check_deployment(deployment)
    dep = 'deployment="$deployment"'
    variables = [
        {
            "name": "datasource",
            "label": "Prometheus",
            "type": "datasource",
            "query": "prometheus",
            "regex": "",
            "hide": 0,
            "multi": False,
            "includeAll": False,
            "current": {},
            "options": [],
            "refresh": 1,
        },
        _variable(
            "deployment",
            "Deployment",
            f"label_values({SERVING}_requests_total, deployment)",
            multi=False,
            current=deployment,
        ),
        _variable(
            "arm", "Arm", f"label_values({SERVING}_requests_total{{{dep}}}, arm)", multi=True
        ),
        _variable(
            "instance",
            "Server",
            f"label_values({SERVING}_requests_total{{{dep}}}, instance)",
            multi=True,
        ),
        _variable(
            "feature", "Feature", f"label_values({MONITOR}_drift{{{dep}}}, feature)", multi=True
        ),
    ]
    return {
        "id": None,
        "uid": _uid(deployment),
        "title": f"loopml · {deployment}",
        "description": f"Serving and monitoring of the loopml deployment {deployment!r}",
        "tags": ["loopml", "mlops"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "weekStart": "",
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "links": [],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "templating": {"list": variables},
        "panels": dashboard_panels(),
    }


def dashboard_json(deployment: str) -> str:
    """:func:`grafana_dashboard` as indented JSON text (what the CLI writes)."""
    return json.dumps(grafana_dashboard(deployment), indent=2) + "\n"
