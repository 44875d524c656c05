"""Gate rules: every operator's pass and fail on typed reports, and gate-file errors at
their file:line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from loopml.errors import InvalidGates, InvalidInput
from loopml.evaluation import (
    BehaviourResult,
    BehaviourTestResult,
    CheckResults,
    ColumnFairness,
    EvaluationReport,
    FairnessResult,
    InfraResult,
    LeakageFinding,
    LeakageResult,
    MetricsResult,
    PerturbationResult,
    ReferenceResult,
    RobustnessResult,
    SliceResult,
    SlicesResult,
    judge,
    load_gates,
    parse_gates,
)


def _report(**sections) -> EvaluationReport:
    return EvaluationReport("m", "classification", 100, results=CheckResults(**sections))


def _verdicts(text: str, report: EvaluationReport) -> list[tuple[str, bool, str]]:
    return [(g.rule, g.passed, g.detail) for g in judge(parse_gates(text), report)]


METRICS = MetricsResult({"roc_auc": 0.8, "log_loss": 0.3, "ece": math.nan})


@pytest.mark.parametrize(
    ("op", "bound", "passed"),
    [
        ("min", 0.79, True),
        ("min", 0.8, True),
        ("min", 0.81, False),
        ("max", 0.81, True),
        ("max", 0.8, True),
        ("max", 0.79, False),
    ],
)
def test_metric_bounds_are_inclusive(op, bound, passed):
    (result,) = judge(
        parse_gates(f"metrics:\n  roc_auc: {{{op}: {bound}}}\n"), _report(metrics=METRICS)
    )
    assert (result.rule, result.measured, result.bound) == (f"roc_auc {op} {bound:g}", 0.8, bound)
    assert result.passed is passed and result.line == 2


def test_a_metric_not_measured_fails():
    text = "metrics:\n  brier: {max: 0.2}\n  ece: {max: 0.1}\n"
    assert _verdicts(text, _report(metrics=METRICS)) == [
        ("brier max 0.2", False, "not measured"),
        ("ece max 0.1", False, "not measured"),
    ]


def _regression_gates(metric: str, tolerance: float) -> str:
    return f"no_regression:\n  against: champion\n  tolerance: {{{metric}: {tolerance}}}\n"


@pytest.mark.parametrize(
    ("metric", "value", "base", "tolerance", "passed"),
    [
        ("roc_auc", 0.885, 0.9, 0.02, True),
        ("roc_auc", 0.885, 0.9, 0.01, False),
        ("roc_auc", 0.95, 0.9, 0.0, True),  # better than the champion
        ("log_loss", 0.305, 0.3, 0.01, True),  # lower is better
        ("log_loss", 0.32, 0.3, 0.01, False),
        ("log_loss", 0.2, 0.3, 0.0, True),
    ],
)
def test_no_regression_in_either_direction(metric, value, base, tolerance, passed):
    report = _report(
        metrics=MetricsResult({metric: value}),
        reference=ReferenceResult("models:/m@champion", {metric: base}),
    )
    (result,) = judge(parse_gates(_regression_gates(metric, tolerance)), report)
    assert result.passed is passed and (result.measured, result.bound) == (value, base)
    assert result.rule == f"{metric} no worse than champion - {tolerance:g}"
    assert result.detail.startswith(f"reference {base:.4f}, regression ")


def test_no_regression_without_a_reference_model_passes_with_the_reason():
    gates = _regression_gates("roc_auc", 0.01)
    assert _verdicts(gates, _report(metrics=METRICS))[0][1:] == (True, "no reference model")
    noted = _report(
        metrics=METRICS, reference=ReferenceResult("models:/m@champion", None, "no model yet")
    )
    assert _verdicts(gates, noted)[0][1:] == (True, "no model yet")
    unmeasured = _report(
        metrics=METRICS, reference=ReferenceResult("models:/m@champion", {"accuracy": 0.9})
    )
    assert _verdicts(gates, unmeasured)[0][1:] == (False, "not measured")


SLICES = SlicesResult(
    (
        SliceResult("small", 10, {"accuracy": 0.2}),
        SliceResult("big", 100, {"accuracy": 0.9}),
        SliceResult("bad", 60, {"accuracy": 0.7}),
    )
)


def test_slice_rules_judge_each_slice_with_enough_rows():
    text = "slices:\n  min: {accuracy: 0.8}\n  max: {accuracy: 0.95}\n  min_rows: 50\n"
    assert _verdicts(text, _report(slices=SLICES)) == [
        ("slice big: accuracy min 0.8", True, ""),
        ("slice bad: accuracy min 0.8", False, ""),
        ("slice big: accuracy max 0.95", True, ""),
        ("slice bad: accuracy max 0.95", True, ""),
    ]
    none = "slices:\n  min: {accuracy: 0.1}\n  min_rows: 500\n"
    assert _verdicts(none, _report(slices=SLICES)) == [
        ("every slice accuracy min 0.1", False, "no slice measured")
    ]


def test_fairness_rules_per_sensitive_column():
    fair = FairnessResult(
        (ColumnFairness("sex", 0.05, 0.9, 0.1), ColumnFairness("age", 0.3, 0.5, None))
    )
    text = (
        "fairness:\n  max: {demographic_parity_difference: 0.1, equalized_odds_difference: 0.2}\n"
    )
    text += "  min: {demographic_parity_ratio: 0.8}\n"
    assert _verdicts(text, _report(fairness=fair)) == [
        ("fairness[sex] demographic_parity_difference max 0.1", True, ""),
        ("fairness[age] demographic_parity_difference max 0.1", False, ""),
        ("fairness[sex] equalized_odds_difference max 0.2", True, ""),
        ("fairness[age] equalized_odds_difference max 0.2", False, "not measured"),
        ("fairness[sex] demographic_parity_ratio min 0.8", True, ""),
        ("fairness[age] demographic_parity_ratio min 0.8", False, ""),
    ]
    assert _verdicts(text, _report())[0] == (
        "fairness demographic_parity_difference max 0.1",
        False,
        "not measured: pass sensitive columns",
    )


def test_robustness_drops_and_errors():
    robust = RobustnessResult(
        (
            PerturbationResult("gaussian_noise", 0.78, 0.02),
            PerturbationResult("category_swap", 0.7, 0.1),
            PerturbationResult("missing_values", None, None, "ValueError: NaN"),
        )
    )
    text = (
        "robustness:\n  max_drop: {gaussian_noise: 0.05, category_swap: 0.05, missing_values: 1}\n"
    )
    assert _verdicts(text, _report(robustness=robust)) == [
        ("robustness gaussian_noise drop <= 0.05", True, ""),
        ("robustness category_swap drop <= 0.05", False, ""),
        ("robustness missing_values drop <= 1", False, "ValueError: NaN"),
    ]
    assert _verdicts(text, _report())[0][1:] == (False, "not measured")


def test_infra_budgets_and_a_model_that_does_not_load():
    fast = InfraResult(12.0, True, None, {"latency_p95_ms": 4.0, "load_s": 2.0})
    text = "infra:\n  max_latency_p95_ms: 5\n  max_load_s: 1\n  max_size_mb: 10\n"
    assert _verdicts(text, _report(infra=fast)) == [
        ("infra max_latency_p95_ms 5", True, ""),
        ("infra max_load_s 1", False, ""),
        ("infra max_size_mb 10", False, ""),
    ]
    broken = InfraResult(3.0, False, "ImportError: no module x")
    assert _verdicts(text, _report(infra=broken)) == [
        ("infra max_latency_p95_ms 5", False, "model does not load: ImportError: no module x"),
        ("infra max_load_s 1", False, "model does not load: ImportError: no module x"),
        ("infra max_size_mb 10", True, "model does not load: ImportError: no module x"),
    ]
    assert _verdicts(text, _report())[0][1:] == (False, "model does not load: not measured")


def test_leakage_allowed_or_not():
    two = LeakageResult((LeakageFinding("shared_rows", "3 rows", 3), LeakageFinding("x", "y", 1)))
    assert _verdicts("leakage: {allow: false}\n", _report(leakage=LeakageResult())) == [
        ("no leakage findings", True, "")
    ]
    assert _verdicts("leakage: {allow: false}\n", _report(leakage=two)) == [
        ("no leakage findings", False, "3 rows; y")
    ]
    assert _verdicts("leakage: {allow: yes}\n", _report(leakage=two)) == [
        ("leakage allowed", True, "3 rows; y")
    ]
    assert _verdicts("leakage: {allow: off}\n", _report())[0][1:] == (False, "not measured")


def test_behaviour_tests_come_last_at_their_line():
    tests = BehaviourResult(
        (
            BehaviourTestResult("same", "invariance", 0.0, 0.01, True),
            BehaviourTestResult("up", "directional", 0.5, 0.95, False),
        )
    )
    text = "robustness:\n  behaviour_tests: pass\nmetrics:\n  roc_auc: {min: 0.5}\n"
    results = judge(parse_gates(text), _report(metrics=METRICS, behaviour_tests=tests))
    assert [(g.rule, g.passed, g.line) for g in results] == [
        ("roc_auc min 0.5", True, 4),
        ("invariance test same", True, 2),
        ("directional test up", False, 2),
    ]


def test_judging_the_stored_dict_gives_the_same_verdicts():
    report = _report(
        metrics=METRICS,
        slices=SLICES,
        infra=InfraResult(3.0, False, "boom"),
        leakage=LeakageResult(),
        reference=ReferenceResult("models:/m@champion", {"roc_auc": 0.9}),
    )
    text = (
        "metrics:\n  roc_auc: {min: 0.9}\n  ece: {max: 0.1}\n"
        + "slices:\n  min: {accuracy: 0.5}\n  min_rows: 1\n"
        + "infra: {max_size_mb: 5}\nleakage: {allow: false}\n"
        + _regression_gates("roc_auc", 0.05)
    )
    gates = parse_gates(text)

    def verdicts(results):  # the stored form has null where the report has NaN
        return [(g.rule, g.passed, g.detail, g.line, g.bound) for g in results]

    assert len(judge(gates, report)) == 8
    assert verdicts(judge(gates, report.to_dict())) == verdicts(judge(gates, report))


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("metrics: {}\n", 1, "metrics is empty: it needs metric"),
        ("metrics:\n  roc_auc: {}\n", 2, "metrics.roc_auc is empty: it needs 'min' or 'max'"),
        ("no_regression:\n  against: champion\n", 2, "no_regression needs 'tolerance'"),
        (
            "no_regression:\n  against: champion\n  tolerance: {}\n",
            3,
            "no_regression.tolerance is empty",
        ),
        ("slices:\n  min_rows: 5\n", 2, "slices needs a 'min' or 'max' mapping"),
        ("slices:\n  min: {}\n", 2, "slices.min is empty"),
        ("fairness: {}\n", 1, "fairness needs a 'min' or 'max' mapping"),
        ("robustness: {}\n", 1, "robustness is empty"),
        ("robustness:\n  max_drop: {}\n", 2, "robustness.max_drop is empty"),
        ("infra: {}\n", 1, "infra is empty"),
        ("leakage: {}\n", 1, "leakage is empty: it needs 'allow: false'"),
        ("leakage:\n  allow: maybe\n", 2, "leakage.allow must be true or false"),
        ("metrics:\n  roc_auc: {min: 0.5}\nextra: 1\n", 3, "unknown section 'extra'"),
        ("{}\n", 1, "the gate file is empty: it needs at least one section"),
        ("- metrics\n", 1, "the gate file must be a mapping"),
        ("robustness:\n  max_drop: {gaussian: 0.1}\n", 2, "did you mean 'gaussian_noise'"),
        ("slices:\n  min: {acuracy: 0.1}\n", 2, "did you mean 'accuracy'"),
    ],
)
def test_gate_file_errors_name_the_file_and_line(tmp_path: Path, text, line, needle):
    path = tmp_path / "gates.yaml"
    path.write_text(text)
    with pytest.raises(InvalidGates) as info:
        load_gates(path)
    assert info.value.message.startswith(f"{path}:{line}: "), info.value.message
    assert needle in info.value.message
    assert isinstance(info.value, InvalidInput) and info.value.exit_code == 2


def test_an_empty_or_unreadable_gate_file_is_refused(tmp_path: Path):
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(InvalidGates, match="empty.yaml: the gate file is empty"):
        load_gates(tmp_path / "empty.yaml")
    with pytest.raises(InvalidGates, match="cannot read gate file"):
        load_gates(tmp_path / "missing.yaml")


def test_parsed_gates_keep_where_each_part_came_from():
    text = (
        "slices:\n  min: {accuracy: 0.1}\n  min_rows: 7\n"
        "no_regression:\n  tolerance: {roc_auc: 0.1}\n  against: models:/m@gold\n"
        "robustness:\n  behaviour_tests: pass\n"
    )
    gates = parse_gates(text, "g.yaml")
    assert (gates.reference, gates.reference_line) == ("models:/m@gold", 6)
    assert (gates.min_slice_rows, gates.behaviour_tests, gates.behaviour_line) == (7, True, 8)
    assert [(r.kind, r.key, r.op, r.line) for r in gates.rules] == [
        ("slices", "accuracy", "min", 2),
        ("no_regression", "roc_auc", "max", 5),
    ]
    assert gates.sections == {"slices", "no_regression", "robustness"}
    assert gates.source == "g.yaml" and gates.text == text
