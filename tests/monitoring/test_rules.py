"""`loopml monitor rules`: promtool checks the generated rules and runs alert unit tests on
series that fire and series that do not."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from loopml.errors import InvalidInput
from loopml.monitoring import RuleOptions, prometheus_rules, rules_yaml
from tests.fixtures.cli import Cli
from tests.monitoring.prom import promtool


def _sel(name: str, **labels: str) -> str:
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


SERVE = {"deployment": "fraud", "model": "fraud"}
MON = {"deployment": "fraud", "model": "fraud", "version": "3"}


def REQ(arm: str, v: int) -> str:
    return _sel(
        "loopml_serving_requests_total",
        **SERVE,
        arm=arm,
        version=str(v),
        endpoint="infer",
        code="200",
    )


def ERR(arm: str, v: int) -> str:
    return _sel("loopml_serving_errors_total", **SERVE, arm=arm, version=str(v), kind="model")


def BUCKET(arm: str, v: int, le: str) -> str:
    return _sel(
        "loopml_serving_request_duration_seconds_bucket",
        **SERVE, arm=arm, version=str(v), endpoint="infer", le=le,
    )  # fmt: skip


def DRIFT(f: str) -> str:
    return _sel("loopml_monitor_drift_alarm", **MON, feature=f, statistic="psi")


def METRIC(k: str) -> str:
    return _sel("loopml_monitor_metric", **MON, metric="accuracy", kind=k)


def BOUND(k: str) -> str:
    return _sel("loopml_monitor_metric_bound", **MON, metric="accuracy", kind=k)


def _series() -> list[dict[str, str]]:
    """One minute per step: stable answers 1 req/s, 20% errors, all under 0.1 s; canary
    answers 1 req/s, no errors, every request between 0.1 and 1 s; drift on `amount`
    only; realised accuracy below its bound, estimated above; the server goes down at 10m."""
    s = [
        {"series": REQ(arm="stable", v=3), "values": "0+60x40"},
        {"series": ERR(arm="stable", v=3), "values": "0+12x40"},
        {"series": REQ(arm="canary", v=4), "values": "0+60x40"},
    ]
    for le in ("0.1", "1", "+Inf"):
        s.append({"series": BUCKET(arm="stable", v=3, le=le), "values": "0+60x40"})
        canary = "0x40" if le == "0.1" else "0+60x40"
        s.append({"series": BUCKET(arm="canary", v=4, le=le), "values": canary})
    s += [
        {"series": DRIFT(f="amount"), "values": "1x40"},
        {"series": DRIFT(f="hour"), "values": "0x40"},
        {"series": METRIC(k="realised"), "values": "0.7x40"},
        {"series": BOUND(k="realised"), "values": "0.8x40"},
        {"series": METRIC(k="estimated"), "values": "0.9x40"},
        {"series": BOUND(k="estimated"), "values": "0.8x40"},
        {"series": 'up{job="fraud", instance="127.0.0.1:8080"}', "values": "1x9 0x30"},
    ]
    return s


def _alert(name: str, at: str, *expected: tuple[dict[str, str], str]) -> dict[str, object]:
    return {
        "eval_time": at,
        "alertname": name,
        "exp_alerts": [
            {"exp_labels": labels, "exp_annotations": {"summary": summary}}
            for labels, summary in expected
        ],
    }


def _unit_tests() -> dict[str, object]:
    crit = {"severity": "critical", "deployment": "fraud"}
    warn = {"severity": "warning", "deployment": "fraud"}
    model = {"model": "fraud", "version": "3"}
    realised = {**crit, **model, "metric": "accuracy", "kind": "realised"}
    return {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": _series(),
                "alert_rule_test": [
                    # pending, not firing, before its for: 5m has passed
                    _alert("LoopmlHighErrorRatio", "4m"),
                    _alert(
                        "LoopmlHighErrorRatio",
                        "12m",
                        (
                            {**crit, "arm": "stable"},
                            "fraud/stable: 20% of requests fail (bound 0.05)",
                        ),
                    ),
                    _alert(
                        "LoopmlHighLatencyP99",
                        "12m",
                        ({**warn, "arm": "canary"}, "fraud/canary: p99 latency 991ms above 0.5s"),
                    ),
                    _alert("LoopmlDriftAlarm", "10m"),
                    _alert(
                        "LoopmlDriftAlarm",
                        "20m",
                        (
                            {**warn, **model, "feature": "amount"},
                            "fraud: feature amount drifted (model fraud v3)",
                        ),
                    ),
                    _alert(
                        "LoopmlMetricBelowBound",
                        "12m",
                        (realised, "fraud: realised accuracy 0.7 is below its bound"),
                    ),
                    _alert(
                        "LoopmlMetricBelowMinimum",
                        "12m",
                        (realised, "fraud: realised accuracy 0.7 < 0.8"),
                    ),
                    _alert("LoopmlServerDown", "9m"),
                    _alert(
                        "LoopmlServerDown",
                        "13m",
                        (
                            {**crit, "job": "fraud", "instance": "127.0.0.1:8080"},
                            "127.0.0.1:8080 of job fraud does not answer scrapes",
                        ),
                    ),
                ],
                "promql_expr_test": [
                    {
                        "expr": "deployment_arm:loopml_serving_error_ratio:rate5m",
                        "eval_time": "12m",
                        "exp_samples": [
                            {
                                "labels": _sel(
                                    "deployment_arm:loopml_serving_error_ratio:rate5m",
                                    deployment="fraud",
                                    arm="stable",
                                ),
                                "value": 0.2,
                            },
                            {
                                "labels": _sel(
                                    "deployment_arm:loopml_serving_error_ratio:rate5m",
                                    deployment="fraud",
                                    arm="canary",
                                ),
                                "value": 0,
                            },
                        ],
                    },
                    {
                        "expr": "deployment_arm:loopml_serving_requests:rate5m",
                        "eval_time": "12m",
                        "exp_samples": [
                            {
                                "labels": _sel(
                                    "deployment_arm:loopml_serving_requests:rate5m",
                                    deployment="fraud",
                                    arm="stable",
                                ),
                                "value": 1,
                            },
                            {
                                "labels": _sel(
                                    "deployment_arm:loopml_serving_requests:rate5m",
                                    deployment="fraud",
                                    arm="canary",
                                ),
                                "value": 1,
                            },
                        ],
                    },
                    {
                        "expr": "deployment_arm:loopml_serving_request_duration_seconds:p50_5m",
                        "eval_time": "12m",
                        "exp_samples": [
                            {
                                "labels": _sel(
                                    "deployment_arm:loopml_serving_request_duration_seconds:p50_5m",
                                    deployment="fraud",
                                    arm="stable",
                                ),
                                "value": 0.05,
                            },
                            {
                                "labels": _sel(
                                    "deployment_arm:loopml_serving_request_duration_seconds:p50_5m",
                                    deployment="fraud",
                                    arm="canary",
                                ),
                                "value": 0.55,
                            },
                        ],
                    },
                ],
            }
        ],
    }


@pytest.fixture
def rules_dir(tmp_path: Path, run_cli: Cli) -> Path:
    done = run_cli(
        "monitor", "rules", "fraud", "--output", str(tmp_path / "rules.yml"),
        "--min-metric", "accuracy=0.8",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return tmp_path


def test_promtool_checks_the_generated_rules(rules_dir: Path) -> None:
    done = promtool("check", "rules", str(rules_dir / "rules.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 12 rules found" in done.stdout


def test_promtool_unit_tests_fire_and_do_not_fire(rules_dir: Path) -> None:
    tests = _unit_tests()
    (rules_dir / "rules_test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    done = promtool("test", "rules", "rules_test.yml", cwd=rules_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_a_wrong_expectation_fails_promtool(rules_dir: Path) -> None:
    """The unit test would notice a rule that fires where it must not."""
    tests = _unit_tests()
    canary = {"severity": "critical", "deployment": "fraud", "arm": "canary"}
    wrong = _alert("LoopmlHighErrorRatio", "12m", (canary, "fraud/canary: 0% of requests fail"))
    tests["tests"][0]["alert_rule_test"] = [wrong]  # type: ignore[index]
    (rules_dir / "rules_test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    done = promtool("test", "rules", "rules_test.yml", cwd=rules_dir)
    assert done.returncode != 0


def test_every_alert_has_for_severity_and_summary() -> None:
    groups = prometheus_rules("fraud", RuleOptions(min_metrics={"auc": 0.7}))["groups"]
    alerts = [r for g in groups for r in g["rules"] if "alert" in r]
    assert {a["alert"] for a in alerts} == {
        "LoopmlHighErrorRatio",
        "LoopmlHighLatencyP99",
        "LoopmlDriftAlarm",
        "LoopmlMetricBelowBound",
        "LoopmlMetricBelowMinimum",
        "LoopmlServerDown",
    }
    for a in alerts:
        assert a["for"] and a["labels"]["severity"] in {"warning", "critical"}
        assert a["annotations"]["summary"]
    records = [r["record"] for g in groups for r in g["rules"] if "record" in r]
    assert len(records) == 6 and all(r.startswith("deployment_arm:") for r in records)


def test_options_reach_the_rules() -> None:
    text = rules_yaml("churn", RuleOptions(range="1m", max_p99_s=0.25, job="servers"))
    assert "rate1m" in text and "> 0.25" in text and 'up{job="servers"}' in text
    assert 'deployment="churn"' in text and 'deployment="fraud"' not in text


@pytest.mark.parametrize(
    "kwargs", [{"range": "5 minutes"}, {"for_": "soon"}, {"drift_for": ""}]
)  # fmt: skip
def test_bad_durations_are_refused(kwargs: dict[str, str]) -> None:
    with pytest.raises(InvalidInput, match="Prometheus duration"):
        prometheus_rules("fraud", RuleOptions(**kwargs))  # type: ignore[arg-type]


def test_cli_refuses_bad_input_with_exit_2(run_cli: Cli, tmp_path: Path) -> None:
    bad = run_cli("monitor", "rules", "fraud", "--min-metric", "accuracy")
    assert bad.returncode == 2 and "NAME=VALUE" in bad.stderr
    name = run_cli("monitor", "rules", 'a"b')
    assert name.returncode == 2 and "deployment name" in name.stderr
    shown = run_cli("monitor", "rules", "fraud")
    assert shown.returncode == 0 and shown.stdout.startswith("# Prometheus rules")
    assert yaml.safe_load(shown.stdout)["groups"][0]["name"] == "loopml-fraud-recording"
