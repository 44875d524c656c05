"""Prometheus recording and alerting rules for one deployment (``loopml monitor rules``).

The rules read the metrics a loopml prediction server exposes on ``/metrics``
(``loopml_serving_*``, labelled ``deployment``, ``model``, ``version``, ``arm``) and the
monitor's gauges (``loopml_monitor_*``, see :mod:`loopml.monitoring._exporter`). Recording
rules follow Prometheus's ``level:metric:operations`` naming; every alert has a ``for:``
duration, a ``severity`` label and a summary annotation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from loopml.errors import InvalidInput

SERVING = "loopml_serving"
MONITOR = "loopml_monitor"
#: The endpoints that answer predictions (health checks and scrapes are not traffic).
PREDICT_ENDPOINTS = "infer|invocations"
BY = "deployment, arm"
_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,255}$")

REQUEST_RATE = f"deployment_arm:{SERVING}_requests:rate{{range}}"
ERROR_RATE = f"deployment_arm:{SERVING}_errors:rate{{range}}"
ERROR_RATIO = f"deployment_arm:{SERVING}_error_ratio:rate{{range}}"
LATENCY = f"deployment_arm:{SERVING}_request_duration_seconds:p{{q}}_{{range}}"


def check_duration(text: str, what: str) -> str:
    """``text`` if it is a Prometheus duration (``30s``, ``5m``, ``1h30m``); InvalidInput if not."""
    if not isinstance(text, str) or not _DURATION.match(text):
        raise InvalidInput(
            f"{what} must be a Prometheus duration such as 30s, 5m or 1h, got {text!r}",
            hint="Write a number followed by ms, s, m, h, d, w or y.",
        )
    return text


def check_deployment(name: str) -> str:
    """``name`` if it is usable as a label value in rules; InvalidInput if not."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"deployment name {name!r} must be 1-255 letters, digits or _ . : -",
            hint="Pass the deployment's name, e.g. `fraud`.",
        )
    return name


@dataclass(frozen=True)
class RuleOptions:
    """The bounds and durations the generated rules use.

    Attributes:
        range: The rate window of the recording rules (``5m``).
        max_error_ratio: Errors per request above which ``LoopmlHighErrorRatio`` fires.
        max_p99_s: p99 latency (seconds) above which ``LoopmlHighLatencyP99`` fires.
        for_: How long a condition must hold before its alert fires.
        drift_for: The same for the drift alarm (drift is judged per window, so longer).
        down_for: The same for ``LoopmlServerDown``.
        min_metrics: Static lower bounds per monitored metric (``{"accuracy": 0.8}``);
            metrics without one are compared with their ``loopml_monitor_metric_bound``.
        job: The Prometheus scrape job of the deployment's servers (for ``up``).
    """

    range: str = "5m"
    max_error_ratio: float = 0.05
    max_p99_s: float = 0.5
    for_: str = "5m"
    drift_for: str = "15m"
    down_for: str = "1m"
    min_metrics: dict[str, float] = field(default_factory=dict)
    job: str | None = None


def _q(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def recording_rules(deployment: str, options: RuleOptions | None = None) -> list[dict[str, Any]]:
    """The recording rules of ``deployment``: request rate, error ratio, p50/p95/p99."""
    opts = options or RuleOptions()
    rng = check_duration(opts.range, "range")
    sel = f'deployment="{_q(check_deployment(deployment))}", endpoint=~"{PREDICT_ENDPOINTS}"'
    requests = REQUEST_RATE.format(range=rng)
    errors = ERROR_RATE.format(range=rng)
    rules: list[dict[str, Any]] = [
        {
            "record": requests,
            "expr": f"sum by ({BY}) (rate({SERVING}_requests_total{{{sel}}}[{rng}]))",
        },
        {
            # no error yet is a ratio of 0, not a missing series
            "record": errors,
            "expr": (
                f'sum by ({BY}) (rate({SERVING}_errors_total{{deployment="{_q(deployment)}"}}'
                f"[{rng}])) or ({requests} * 0)"
            ),
        },
        {
            "record": ERROR_RATIO.format(range=rng),
            "expr": f"{errors} / {requests} > -1",  # > -1 drops NaN of 0/0 (no traffic)
        },
    ]
    for q in (50, 95, 99):
        rules.append(
            {
                "record": LATENCY.format(q=q, range=rng),
                "expr": (
                    f"histogram_quantile({q / 100}, sum by ({BY}, le) "
                    f"(rate({SERVING}_request_duration_seconds_bucket{{{sel}}}[{rng}])))"
                ),
            }
        )
    return rules


def alerting_rules(deployment: str, options: RuleOptions | None = None) -> list[dict[str, Any]]:
    """The alerting rules of ``deployment``: error ratio, p99 latency, drift alarm, metric
    below its bound, server down."""
    opts = options or RuleOptions()
    rng = check_duration(opts.range, "range")
    for_ = check_duration(opts.for_, "for")
    dep = _q(check_deployment(deployment))
    sel = f'deployment="{dep}"'
    job = _q(opts.job or deployment)
    rules: list[dict[str, Any]] = [
        {
            "alert": "LoopmlHighErrorRatio",
            "expr": f"{ERROR_RATIO.format(range=rng)}{{{sel}}} > {opts.max_error_ratio:g}",
            "for": for_,
            "labels": {"severity": "critical", "deployment": deployment},
            "annotations": {
                "summary": (
                    "{{ $labels.deployment }}/{{ $labels.arm }}: "
                    "{{ $value | humanizePercentage }} of requests fail"
                    f" (bound {opts.max_error_ratio:g})"
                ),
            },
        },
        {
            "alert": "LoopmlHighLatencyP99",
            "expr": f"{LATENCY.format(q=99, range=rng)}{{{sel}}} > {opts.max_p99_s:g}",
            "for": for_,
            "labels": {"severity": "warning", "deployment": deployment},
            "annotations": {
                "summary": (
                    "{{ $labels.deployment }}/{{ $labels.arm }}: p99 latency "
                    f"{{{{ $value | humanizeDuration }}}} above {opts.max_p99_s:g}s"
                ),
            },
        },
        {
            "alert": "LoopmlDriftAlarm",
            "expr": (
                f"max by (deployment, model, version, feature) ({MONITOR}_drift_alarm{{{sel}}}) > 0"
            ),
            "for": check_duration(opts.drift_for, "drift_for"),
            "labels": {"severity": "warning", "deployment": deployment},
            "annotations": {
                "summary": (
                    "{{ $labels.deployment }}: feature {{ $labels.feature }} drifted "
                    "(model {{ $labels.model }} v{{ $labels.version }})"
                ),
            },
        },
        {
            "alert": "LoopmlMetricBelowBound",
            "expr": (
                f"{MONITOR}_metric{{{sel}}} < on (deployment, model, version, metric, kind) "
                f"{MONITOR}_metric_bound{{{sel}}}"
            ),
            "for": for_,
            "labels": {"severity": "critical", "deployment": deployment},
            "annotations": {
                "summary": (
                    "{{ $labels.deployment }}: {{ $labels.kind }} {{ $labels.metric }} "
                    "{{ $value }} is below its bound"
                ),
            },
        },
    ]
    for metric, bound in sorted(opts.min_metrics.items()):
        rules.append(
            {
                "alert": "LoopmlMetricBelowMinimum",
                "expr": f'{MONITOR}_metric{{{sel}, metric="{_q(metric)}"}} < {bound:g}',
                "for": for_,
                "labels": {"severity": "critical", "deployment": deployment},
                "annotations": {
                    "summary": (
                        "{{ $labels.deployment }}: {{ $labels.kind }} {{ $labels.metric }} "
                        f"{{{{ $value }}}} < {bound:g}"
                    ),
                },
            }
        )
    rules.append(
        {
            "alert": "LoopmlServerDown",
            "expr": f'up{{job="{job}"}} == 0 or absent(up{{job="{job}"}})',
            "for": check_duration(opts.down_for, "down_for"),
            "labels": {"severity": "critical", "deployment": deployment},
            "annotations": {
                "summary": "{{ $labels.instance }} of job " + job + " does not answer scrapes",
            },
        }
    )
    return rules


def prometheus_rules(deployment: str, options: RuleOptions | None = None) -> dict[str, Any]:
    """A Prometheus rule file (as a dict) for ``deployment``: one recording group and one
    alerting group.

    Example:
        >>> rules = prometheus_rules("fraud")
        >>> [g["name"] for g in rules["groups"]]
        ['loopml-fraud-recording', 'loopml-fraud-alerts']
    """
    return {
        "groups": [
            {
                "name": f"loopml-{deployment}-recording",
                "rules": recording_rules(deployment, options),
            },
            {"name": f"loopml-{deployment}-alerts", "rules": alerting_rules(deployment, options)},
        ]
    }


def rules_yaml(deployment: str, options: RuleOptions | None = None) -> str:
    """:func:`prometheus_rules` as YAML text (what ``loopml monitor rules`` writes)."""
    import yaml

    header = (
        f"# Prometheus rules for the loopml deployment {deployment!r}"
        " (generated by `loopml monitor rules`)\n"
    )
    body = yaml.safe_dump(
        prometheus_rules(deployment, options), sort_keys=False, width=1000, allow_unicode=True
    )
    return header + body
