"""gates.yaml: parsing with file:line errors, and judging a report against the rules.

```yaml
metrics:          {roc_auc: {min: 0.85}, log_loss: {max: 0.4}}
no_regression:    {against: champion, tolerance: {roc_auc: 0.01}}
slices:           {min: {roc_auc: 0.75}, min_rows: 50}
fairness:         {max: {demographic_parity_difference: 0.1}, min: {demographic_parity_ratio: 0.8}}
robustness:       {max_drop: {gaussian_noise: 0.05}, behaviour_tests: pass}
infra:            {max_latency_p95_ms: 50, max_size_mb: 100}
leakage:          {allow: false}
```
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from loopml.errors import InvalidInput
from loopml.evaluation._metrics import (
    CLASSIFICATION_METRICS,
    LOWER_IS_BETTER,
    REGRESSION_METRICS,
)
from loopml.evaluation._robustness import PERTURBATIONS

METRICS = (*CLASSIFICATION_METRICS, *REGRESSION_METRICS)
FAIRNESS = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
)
INFRA = {
    "max_latency_p50_ms": "latency_p50_ms",
    "max_latency_p95_ms": "latency_p95_ms",
    "max_batch_latency_p95_ms": "batch_latency_p95_ms",
    "max_size_mb": "size_mb",
    "max_memory_mb": "peak_memory_mb",
    "max_load_s": "load_s",
}
SECTIONS = ("metrics", "no_regression", "slices", "fairness", "robustness", "infra", "leakage")


@dataclass(frozen=True)
class Rule:
    """One rule of a gate file: ``kind`` names the check, ``key`` what it measures."""

    kind: str
    key: str
    bound: float
    op: str  # "min" or "max"
    line: int


@dataclass(frozen=True)
class Gates:
    """A parsed gate file.

    Attributes:
        rules: Every threshold rule, in file order.
        reference: The alias or URI ``no_regression`` compares against (None: no such rule).
        source: Where the rules came from (path).
        text: The file's text (stored with evaluations and model versions).
    """

    rules: tuple[Rule, ...]
    reference: str | None = None
    min_slice_rows: int = 30
    behaviour_tests: bool = False
    behaviour_line: int = 0
    source: str = ""
    text: str = ""

    @property
    def sections(self) -> set[str]:
        """The sections the rules use."""
        return {r.kind for r in self.rules} | ({"robustness"} if self.behaviour_tests else set())


@dataclass(frozen=True)
class GateResult:
    """The verdict on one rule, with the measured value and the bound."""

    rule: str
    measured: float | None
    bound: float | None
    passed: bool
    detail: str = ""
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "rule": self.rule,
            "measured": self.measured,
            "bound": self.bound,
            "passed": self.passed,
            "detail": self.detail,
            "line": self.line,
        }


@dataclass
class _Parser:
    source: str
    rules: list[Rule] = field(default_factory=list)

    def fail(self, node: yaml.Node, message: str, known: tuple[str, ...] = ()) -> InvalidInput:
        near = ""
        if known and isinstance(node, yaml.ScalarNode):
            close = difflib.get_close_matches(str(node.value), known, n=1)
            near = f" (did you mean {close[0]!r}?)" if close else ""
        return InvalidInput(
            f"{self.source}:{node.start_mark.line + 1}: {message}{near}",
            hint=f"Accepted: {', '.join(known)}." if known else "See docs/evaluation.md#gates.",
            line=node.start_mark.line + 1,
        )

    def mapping(self, node: yaml.Node, what: str) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        pairs = []
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise self.fail(key, f"keys of {what} must be names")
            pairs.append((key, value))
        return pairs

    def number(self, node: yaml.Node, what: str) -> float:
        if isinstance(node, yaml.ScalarNode):
            try:
                value = float(node.value)
                if math.isfinite(value):
                    return value
            except ValueError:
                pass
        raise self.fail(node, f"{what} must be a number")

    def bounds(
        self, kind: str, node: yaml.Node, known: tuple[str, ...], ops: tuple[str, ...]
    ) -> None:
        for op_key, inner in self.mapping(node, kind):
            if op_key.value not in ops:
                raise self.fail(op_key, f"unknown bound {op_key.value!r} in {kind}", ops)
            for key, value in self.mapping(inner, f"{kind}.{op_key.value}"):
                if key.value not in known:
                    raise self.fail(key, f"unknown metric {key.value!r} in {kind}", known)
                bound = self.number(value, f"{kind}.{op_key.value}.{key.value}")
                self.rules.append(
                    Rule(kind, key.value, bound, op_key.value, key.start_mark.line + 1)
                )


def parse_gates(text: str, source: str = "gates.yaml") -> Gates:
    """Parse gate rules from YAML text; errors name ``source:line``.

    Raises:
        InvalidInput: Malformed YAML, an unknown section/metric/bound, or a non-number.
    """
    parser = _Parser(source)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InvalidInput(
            f"{source}{line}: malformed YAML: {getattr(exc, 'problem', exc)}"
        ) from exc
    if root is None:
        raise InvalidInput(f"{source}: the gate file is empty", hint="Add at least one rule.")
    reference, min_rows, behaviour, behaviour_line = None, 30, False, 0
    for key, node in parser.mapping(root, "the gate file"):
        name = key.value
        if name == "metrics":
            for metric, bounds in parser.mapping(node, "metrics"):
                if metric.value not in METRICS:
                    raise parser.fail(metric, f"unknown metric {metric.value!r}", METRICS)
                for op, value in parser.mapping(bounds, f"metrics.{metric.value}"):
                    if op.value not in ("min", "max"):
                        raise parser.fail(op, f"unknown bound {op.value!r}", ("min", "max"))
                    parser.rules.append(
                        Rule(
                            "metrics",
                            metric.value,
                            parser.number(value, op.value),
                            op.value,
                            op.start_mark.line + 1,
                        )
                    )
        elif name == "no_regression":
            for sub, value in parser.mapping(node, "no_regression"):
                if sub.value == "against":
                    if not isinstance(value, yaml.ScalarNode) or not value.value:
                        raise parser.fail(value, "no_regression.against must be an alias or URI")
                    reference = str(value.value)
                elif sub.value == "tolerance":
                    for metric, tol in parser.mapping(value, "no_regression.tolerance"):
                        if metric.value not in METRICS:
                            raise parser.fail(metric, f"unknown metric {metric.value!r}", METRICS)
                        parser.rules.append(
                            Rule(
                                "no_regression",
                                metric.value,
                                parser.number(tol, "tolerance"),
                                "max",
                                metric.start_mark.line + 1,
                            )
                        )
                else:
                    raise parser.fail(
                        sub, f"unknown key {sub.value!r} in no_regression", ("against", "tolerance")
                    )
            if reference is None:
                raise parser.fail(node, "no_regression needs 'against' (an alias such as champion)")
        elif name == "slices":
            pairs = parser.mapping(node, "slices")
            for sub, value in pairs:
                if sub.value == "min_rows":
                    min_rows = int(parser.number(value, "slices.min_rows"))
            inner = yaml.MappingNode(
                "tag:yaml.org,2002:map",
                [(k, v) for k, v in pairs if k.value != "min_rows"],
                node.start_mark,
                node.end_mark,
            )
            parser.bounds("slices", inner, METRICS, ("min", "max"))
        elif name == "fairness":
            parser.bounds("fairness", node, FAIRNESS, ("min", "max"))
        elif name == "robustness":
            for sub, value in parser.mapping(node, "robustness"):
                if sub.value == "max_drop":
                    for kind, bound in parser.mapping(value, "robustness.max_drop"):
                        if kind.value not in PERTURBATIONS:
                            raise parser.fail(
                                kind, f"unknown perturbation {kind.value!r}", PERTURBATIONS
                            )
                        parser.rules.append(
                            Rule(
                                "robustness",
                                kind.value,
                                parser.number(bound, "max_drop"),
                                "max",
                                kind.start_mark.line + 1,
                            )
                        )
                elif sub.value == "behaviour_tests":
                    behaviour, behaviour_line = True, sub.start_mark.line + 1
                else:
                    raise parser.fail(
                        sub,
                        f"unknown key {sub.value!r} in robustness",
                        ("max_drop", "behaviour_tests"),
                    )
        elif name == "infra":
            for sub, value in parser.mapping(node, "infra"):
                if sub.value not in INFRA:
                    raise parser.fail(sub, f"unknown infra budget {sub.value!r}", tuple(INFRA))
                parser.rules.append(
                    Rule(
                        "infra",
                        sub.value,
                        parser.number(value, sub.value),
                        "max",
                        sub.start_mark.line + 1,
                    )
                )
        elif name == "leakage":
            for sub, value in parser.mapping(node, "leakage"):
                if sub.value != "allow":
                    raise parser.fail(sub, f"unknown key {sub.value!r} in leakage", ("allow",))
                allowed = isinstance(value, yaml.ScalarNode) and value.value.lower() in (
                    "true",
                    "yes",
                )
                parser.rules.append(
                    Rule(
                        "leakage",
                        "findings",
                        1e18 if allowed else 0.0,
                        "max",
                        sub.start_mark.line + 1,
                    )
                )
        else:
            raise parser.fail(key, f"unknown section {name!r}", SECTIONS)
    return Gates(tuple(parser.rules), reference, min_rows, behaviour, behaviour_line, source, text)


def load_gates(path: str | os.PathLike[str]) -> Gates:
    """Read and parse a gate file.

    Raises:
        InvalidInput: The file cannot be read or has an error (message says file:line).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            f"cannot read gate file {os.fspath(path)}: {exc.strerror or exc}"
        ) from exc
    return parse_gates(text, os.fspath(path))


def _check(
    rule: Rule, name: str, measured: float | None, bound: float, detail: str = ""
) -> GateResult:
    if measured is None or (isinstance(measured, float) and math.isnan(measured)):
        return GateResult(name, measured, bound, False, detail or "not measured", rule.line)
    ok = measured >= bound if rule.op == "min" else measured <= bound
    return GateResult(name, measured, bound, ok, detail, rule.line)


def judge(gates: Gates, report: dict[str, Any]) -> list[GateResult]:
    """Every rule's verdict on an evaluation report (as produced by ``evaluate``)."""
    out: list[GateResult] = []
    metrics = report.get("metrics", {})
    for rule in gates.rules:
        if rule.kind == "metrics":
            out.append(
                _check(
                    rule, f"{rule.key} {rule.op} {rule.bound:g}", metrics.get(rule.key), rule.bound
                )
            )
        elif rule.kind == "no_regression":
            ref = report.get("reference")
            name = f"{rule.key} no worse than {gates.reference} - {rule.bound:g}"
            if not ref or not ref.get("metrics"):
                reason = (ref or {}).get("note", "no reference model")
                out.append(GateResult(name, metrics.get(rule.key), None, True, reason, rule.line))
                continue
            base, value = ref["metrics"].get(rule.key), metrics.get(rule.key)
            if base is None or value is None:
                out.append(GateResult(name, value, base, False, "not measured", rule.line))
                continue
            worse = (value - base) if rule.key in LOWER_IS_BETTER else (base - value)
            out.append(
                GateResult(
                    name,
                    value,
                    base,
                    worse <= rule.bound,
                    f"reference {base:.4f}, regression {worse:.4f}",
                    rule.line,
                )
            )
        elif rule.kind == "slices":
            measured = [
                (s, v["metrics"].get(rule.key))
                for s, v in report.get("slices", {}).items()
                if v.get("rows", 0) >= gates.min_slice_rows
            ]
            if not measured:
                out.append(
                    GateResult(
                        f"every slice {rule.key} {rule.op} {rule.bound:g}",
                        None,
                        rule.bound,
                        False,
                        "no slice measured",
                        rule.line,
                    )
                )
            for slice_name, value in measured:
                out.append(
                    _check(
                        rule,
                        f"slice {slice_name}: {rule.key} {rule.op} {rule.bound:g}",
                        value,
                        rule.bound,
                    )
                )
        elif rule.kind == "fairness":
            groups = report.get("fairness", {})
            if not groups:
                out.append(
                    GateResult(
                        f"fairness {rule.key} {rule.op} {rule.bound:g}",
                        None,
                        rule.bound,
                        False,
                        "not measured: pass sensitive columns",
                        rule.line,
                    )
                )
            for column, result in groups.items():
                out.append(
                    _check(
                        rule,
                        f"fairness[{column}] {rule.key} {rule.op} {rule.bound:g}",
                        result.get(rule.key),
                        rule.bound,
                    )
                )
        elif rule.kind == "robustness":
            entry = report.get("robustness", {}).get(rule.key) or {}
            out.append(
                _check(
                    rule,
                    f"robustness {rule.key} drop <= {rule.bound:g}",
                    entry.get("drop"),
                    rule.bound,
                    entry.get("error") or "",
                )
            )
        elif rule.kind == "infra":
            infra = report.get("infra") or {}
            detail = (
                ""
                if infra.get("loads", False)
                else f"model does not load: {infra.get('error', 'not measured')}"
            )
            out.append(
                _check(
                    rule,
                    f"infra {rule.key} {rule.bound:g}",
                    infra.get(INFRA[rule.key]),
                    rule.bound,
                    detail,
                )
            )
        elif rule.kind == "leakage":
            findings = report.get("leakage")
            if findings is None:
                out.append(
                    GateResult(
                        "no leakage findings", None, rule.bound, False, "not measured", rule.line
                    )
                )
            else:
                detail = "; ".join(f["detail"] for f in findings)
                out.append(
                    _check(
                        rule,
                        "no leakage findings" if rule.bound == 0 else "leakage allowed",
                        float(len(findings)),
                        rule.bound,
                        detail,
                    )
                )
    if gates.behaviour_tests:
        for test in report.get("behaviour_tests", []):
            out.append(
                GateResult(
                    f"{test['kind']} test {test['name']}",
                    test["measured"],
                    test["bound"],
                    bool(test["passed"]),
                    "",
                    gates.behaviour_line,
                )
            )
    return out
