"""Judging a typed evaluation report by the rules of a gate file.

Each rule kind (a gates.yaml section) reads the section of the check of the same name
(``no_regression`` reads ``reference``), so a rule whose check did not run fails as
"not measured" instead of passing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from loopml.evaluation._gates import INFRA, GateResult, Gates, Rule
from loopml.evaluation._metrics import LOWER_IS_BETTER

if TYPE_CHECKING:
    from loopml.evaluation._report import EvaluationReport

#: Rule kind (gates.yaml section) -> the check whose section it reads.
RULE_CHECKS: Mapping[str, str] = {
    "metrics": "metrics",
    "no_regression": "reference",
    "slices": "slices",
    "fairness": "fairness",
    "robustness": "robustness",
    "infra": "infra",
    "leakage": "leakage",
}


def _check(
    rule: Rule, name: str, measured: float | None, bound: float, detail: str = ""
) -> GateResult:
    if measured is None or (isinstance(measured, float) and math.isnan(measured)):
        return GateResult(name, measured, bound, False, detail or "not measured", rule.line)
    ok = measured >= bound if rule.op == "min" else measured <= bound
    return GateResult(name, measured, bound, ok, detail, rule.line)


def _metrics(rule: Rule, gates: Gates, report: EvaluationReport) -> list[GateResult]:
    measured = report.results.metrics.values.get(rule.key)
    return [_check(rule, f"{rule.key} {rule.op} {rule.bound:g}", measured, rule.bound)]


def _no_regression(rule: Rule, gates: Gates, report: EvaluationReport) -> list[GateResult]:
    ref, metrics = report.results.reference, report.results.metrics.values
    name = f"{rule.key} no worse than {gates.reference} - {rule.bound:g}"
    if ref is None or not ref.metrics:
        reason = ref.note if ref is not None and ref.note else "no reference model"
        return [GateResult(name, metrics.get(rule.key), None, True, reason, rule.line)]
    base, value = ref.metrics.get(rule.key), metrics.get(rule.key)
    if base is None or value is None:
        return [GateResult(name, value, base, False, "not measured", rule.line)]
    worse = (value - base) if rule.key in LOWER_IS_BETTER else (base - value)
    detail = f"reference {base:.4f}, regression {worse:.4f}"
    return [GateResult(name, value, base, worse <= rule.bound, detail, rule.line)]


def _slices(rule: Rule, gates: Gates, report: EvaluationReport) -> list[GateResult]:
    judged = [s for s in report.results.slices.slices if s.rows >= gates.min_slice_rows]
    if not judged:
        name = f"every slice {rule.key} {rule.op} {rule.bound:g}"
        return [GateResult(name, None, rule.bound, False, "no slice measured", rule.line)]
    return [
        _check(
            rule,
            f"slice {s.name}: {rule.key} {rule.op} {rule.bound:g}",
            s.metrics.get(rule.key),
            rule.bound,
        )
        for s in judged
    ]


def _fairness(rule: Rule, gates: Gates, report: EvaluationReport) -> list[GateResult]:
    columns = report.results.fairness.columns
    if not columns:
        name = f"fairness {rule.key} {rule.op} {rule.bound:g}"
        detail = "not measured: pass sensitive columns"
        return [GateResult(name, None, rule.bound, False, detail, rule.line)]
    return [
        _check(
            rule,
            f"fairness[{c.column}] {rule.key} {rule.op} {rule.bound:g}",
            c.measure(rule.key),
            rule.bound,
        )
        for c in columns
    ]


def _robustness(rule: Rule, gates: Gates, report: EvaluationReport) -> list[GateResult]:
    entry = report.results.robustness.get(rule.key)
    drop = None if entry is None else entry.drop
    error = "" if entry is None else entry.error or ""
    return [_check(rule, f"robustness {rule.key} drop <= {rule.bound:g}", drop, rule.bound, error)]


def _infra(rule: Rule, gates: Gates, report: EvaluationReport) -> list[GateResult]:
    infra = report.results.infra
    if infra is not None and infra.loads:
        detail = ""
    else:
        error = infra.error if infra is not None and infra.error else "not measured"
        detail = f"model does not load: {error}"
    measured = None if infra is None else infra.measure(INFRA[rule.key])
    return [_check(rule, f"infra {rule.key} {rule.bound:g}", measured, rule.bound, detail)]


def _leakage(rule: Rule, gates: Gates, report: EvaluationReport) -> list[GateResult]:
    leakage = report.results.leakage
    if leakage is None:
        return [
            GateResult("no leakage findings", None, rule.bound, False, "not measured", rule.line)
        ]
    name = "no leakage findings" if rule.bound == 0 else "leakage allowed"
    detail = "; ".join(f.detail for f in leakage.findings)
    return [_check(rule, name, float(len(leakage.findings)), rule.bound, detail)]


_JUDGES: Mapping[str, Callable[[Rule, Gates, EvaluationReport], list[GateResult]]] = {
    "metrics": _metrics,
    "no_regression": _no_regression,
    "slices": _slices,
    "fairness": _fairness,
    "robustness": _robustness,
    "infra": _infra,
    "leakage": _leakage,
}


def judge(gates: Gates, report: EvaluationReport | Mapping[str, Any]) -> list[GateResult]:
    """Every rule's verdict on an evaluation report.

    Args:
        gates: The parsed rules.
        report: The report of ``evaluate``, or its ``to_dict()`` form (a stored report).

    Returns:
        One result per rule and measured item (slice, sensitive column, behaviour test),
        rules in file order, behaviour tests last.
    """
    if isinstance(report, Mapping):
        from loopml.evaluation._report import EvaluationReport

        report = EvaluationReport.from_dict(report)
    out: list[GateResult] = []
    for rule in gates.rules:
        out.extend(_JUDGES[rule.kind](rule, gates, report))
    if gates.behaviour_tests:
        out.extend(
            GateResult(
                f"{t.kind} test {t.name}", t.measured, t.bound, t.passed, "", gates.behaviour_line
            )
            for t in report.results.behaviour_tests.tests
        )
    return out
