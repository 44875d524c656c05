"""The typed report: its stored JSON form, the HTML page, and the verdict helpers."""

from __future__ import annotations

import dataclasses
import json

import pytest

from loopml.errors import GateFailed
from loopml.evaluation import (
    DirectionalTest,
    EvaluationReport,
    InfraResult,
    InvarianceTest,
    evaluate,
    parse_gates,
)

GATES = """\
metrics:
  roc_auc: {min: 0.6}
slices:
  min: {accuracy: 0.9}
  min_rows: 10
fairness:
  max: {demographic_parity_difference: 0.5}
robustness:
  max_drop: {gaussian_noise: 0.5}
  behaviour_tests: pass
leakage:
  allow: true
"""

KEYS = [
    "model_uri",
    "task",
    "rows",
    "data_fingerprint",
    "passed",
    "metrics",
    "slices",
    "fairness",
    "robustness",
    "behaviour_tests",
    "infra",
    "analysis",
    "leakage",
    "curves",
    "reference",
    "gates",
    "gates_source",
    "evaluation_id",
]


@pytest.fixture(scope="module")
def full(regions, flip_north) -> EvaluationReport:
    """Every check but infra, on the one-bad-region data."""
    tests = [
        InvarianceTest("east is south", "region", lambda s: s.replace({"east": "south"})),
        DirectionalTest("x up", "x", lambda s: s + 0.1),
    ]
    return evaluate(
        flip_north,
        regions,
        "y",
        slices=["region"],
        sensitive=["region"],
        tests=tests,
        gates=parse_gates(GATES, "gates.yaml"),
        infra=False,
        train_data=regions.head(50),
    )


def test_the_stored_form_round_trips_through_the_typed_report(full):
    stored = full.to_dict()
    assert list(stored) == KEYS
    again = EvaluationReport.from_dict(json.loads(full.to_json()))
    assert again.to_dict() == stored
    assert again.results.slices == full.results.slices
    assert again.gates == full.gates


def test_sections_are_typed_and_their_dict_views_match(full):
    results = full.results
    assert [s.name for s in results.slices.slices] == [
        "region=east",
        "region=north",
        "region=south",
    ]
    assert full.slices["region=north"]["metrics"]["accuracy"] == 0.0
    assert results.fairness.columns[0].column == "region"
    assert [t.name for t in results.behaviour_tests.tests] == ["east is south", "x up"]
    assert results.leakage is not None and {f.check for f in results.leakage.findings} == {
        "shared_rows",
        "predictive_feature",
    }
    assert results.analysis is not None and results.analysis.metric == "roc_auc"
    assert results.infra is None and full.infra == {}
    assert results.reference is None and full.reference is None
    views = {
        "metrics": results.metrics.to_dict(),
        "robustness": results.robustness.to_dict(),
        "curves": results.curves.to_dict(),
        "fairness": results.fairness.to_dict(),
    }
    for name, view in views.items():
        assert getattr(full, name) == view, name


def test_the_report_is_immutable(full):
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.task = "regression"  # type: ignore[misc]
    full.metrics["roc_auc"] = -1.0
    assert full.metrics["roc_auc"] != -1.0


def test_verdict_helpers(full):
    failed = [g.rule for g in full.failures]
    assert failed == [
        "slice region=north: accuracy min 0.9",
        "directional test x up",
    ]
    assert full.passed is False
    with pytest.raises(GateFailed, match="2 gate rule") as info:
        full.raise_for_gates()
    assert info.value.exit_code == 1 and len(info.value.fields["failures"]) == 2
    green = dataclasses.replace(full, gates=tuple(g for g in full.gates if g.passed))
    assert green.passed is True and green.raise_for_gates() is None
    ungated = dataclasses.replace(full, gates=(), gates_source=None)
    assert ungated.passed is None and ungated.to_dict()["passed"] is None


def test_html_and_json_files_hold_every_section(full, tmp_path):
    infra = InfraResult(0.5, True, None, {"latency_p50_ms": 1.5, "latency_p95_ms": 2.5})
    report = dataclasses.replace(full, results=dataclasses.replace(full.results, infra=infra))
    page = report.write(tmp_path / "out" / "report.html").read_text()
    for heading in (
        "<h2>Gates</h2>",
        "<h2>Metrics</h2>",
        "<h2>Slices</h2>",
        "<h2>Fairness</h2>",
        "<h2>Robustness</h2>",
        "<h2>Infrastructure</h2>",
        "<h2>Leakage</h2>",
        "ROC curve",
        "Precision-recall curve",
        "Calibration",
        "Confusion matrix",
        "Permutation importance",
    ):
        assert heading in page, heading
    assert "FAILED" in page and "slice region=north: accuracy min 0.9" in page
    assert "latency_p95_ms" in page and "region=north" in page
    body = json.loads(report.write(tmp_path / "report.json").read_text())
    assert body["infra"] == {"size_mb": 0.5, "loads": True, "latency_p50_ms": 1.5,
                             "latency_p95_ms": 2.5}  # fmt: skip
    assert body["passed"] is False and len(body["gates"]) == len(report.gates)
    assert body == report.to_dict()
