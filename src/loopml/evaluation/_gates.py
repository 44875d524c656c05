"""gates.yaml: parsing with file:line errors, and the verdict type of a judged rule.

```yaml
metrics:          {roc_auc: {min: 0.85}, log_loss: {max: 0.4}}
no_regression:    {against: champion, tolerance: {roc_auc: 0.01}}
slices:           {min: {roc_auc: 0.75}, min_rows: 50}
fairness:         {max: {demographic_parity_difference: 0.1}, min: {demographic_parity_ratio: 0.8}}
robustness:       {max_drop: {gaussian_noise: 0.05}, behaviour_tests: pass}
infra:            {max_latency_p95_ms: 50, max_size_mb: 100}
leakage:          {allow: false}
```

Every section must say something: a section, bound or tolerance without a rule is an
error at its line, never a rule that silently does not exist.
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from loopml.errors import InvalidGates
from loopml.evaluation._metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS
from loopml.evaluation._robustness import PERTURBATIONS

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

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
_BOOLEANS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


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
        min_slice_rows: Slices with fewer rows are not judged.
        behaviour_tests: Whether invariance/directional tests must pass.
        behaviour_line: Line of ``behaviour_tests``.
        source: Where the rules came from (path).
        text: The file's text (stored with evaluations and model versions).
        reference_line: Line of ``no_regression.against``.
    """

    rules: tuple[Rule, ...]
    reference: str | None = None
    min_slice_rows: int = 30
    behaviour_tests: bool = False
    behaviour_line: int = 0
    source: str = ""
    text: str = ""
    reference_line: int = 0

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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            str(data["rule"]),
            data.get("measured"),
            data.get("bound"),
            bool(data["passed"]),
            str(data.get("detail") or ""),
            int(data.get("line") or 0),
        )


Pairs = list[tuple[yaml.ScalarNode, yaml.Node]]


@dataclass
class _Parser:
    source: str
    rules: list[Rule] = field(default_factory=list)
    reference: str | None = None
    reference_line: int = 0
    min_rows: int = 30
    behaviour: bool = False
    behaviour_line: int = 0

    def fail(self, node: yaml.Node, message: str, known: tuple[str, ...] = ()) -> InvalidGates:
        near = ""
        if known and isinstance(node, yaml.ScalarNode):
            close = difflib.get_close_matches(str(node.value), known, n=1)
            near = f" (did you mean {close[0]!r}?)" if close else ""
        line = node.start_mark.line + 1
        return InvalidGates(
            f"{self.source}:{line}: {message}{near}",
            hint=f"Accepted: {', '.join(known)}." if known else "See docs/evaluation.md#gates.",
            line=line,
        )

    def mapping(self, node: yaml.Node, what: str, *, required: str = "") -> Pairs:
        """The key/value pairs of a mapping; ``required`` says what an empty one lacks."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        pairs = []
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise self.fail(key, f"keys of {what} must be names")
            pairs.append((key, value))
        if required and not pairs:
            raise self.fail(node, f"{what} is empty: it needs {required}")
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

    def add(self, kind: str, key: str, bound: float, op: str, node: yaml.Node) -> None:
        self.rules.append(Rule(kind, key, bound, op, node.start_mark.line + 1))

    def bounds(self, kind: str, pairs: Pairs, node: yaml.Node, known: tuple[str, ...]) -> None:
        """``min``/``max`` mappings of metric -> bound (slices, fairness)."""
        if not pairs:
            raise self.fail(node, f"{kind} needs a 'min' or 'max' mapping of bounds")
        for op_key, inner in pairs:
            if op_key.value not in ("min", "max"):
                raise self.fail(op_key, f"unknown bound {op_key.value!r} in {kind}", ("min", "max"))
            what = f"{kind}.{op_key.value}"
            for key, value in self.mapping(inner, what, required="metric: bound pairs"):
                if key.value not in known:
                    raise self.fail(key, f"unknown metric {key.value!r} in {kind}", known)
                self.add(
                    kind, key.value, self.number(value, f"{what}.{key.value}"), op_key.value, key
                )

    def metrics(self, node: yaml.Node) -> None:
        for metric, bounds in self.mapping(node, "metrics", required="metric: {min|max: bound}"):
            if metric.value not in METRICS:
                raise self.fail(metric, f"unknown metric {metric.value!r}", METRICS)
            what = f"metrics.{metric.value}"
            for op, value in self.mapping(bounds, what, required="'min' or 'max'"):
                if op.value not in ("min", "max"):
                    raise self.fail(op, f"unknown bound {op.value!r}", ("min", "max"))
                self.add("metrics", metric.value, self.number(value, op.value), op.value, op)

    def no_regression(self, node: yaml.Node) -> None:
        tolerances = 0
        for sub, value in self.mapping(node, "no_regression"):
            if sub.value == "against":
                if not isinstance(value, yaml.ScalarNode) or not value.value:
                    raise self.fail(value, "no_regression.against must be an alias or URI")
                self.reference, self.reference_line = str(value.value), sub.start_mark.line + 1
            elif sub.value == "tolerance":
                what = "no_regression.tolerance"
                for metric, tol in self.mapping(value, what, required="metric: allowed drop"):
                    if metric.value not in METRICS:
                        raise self.fail(metric, f"unknown metric {metric.value!r}", METRICS)
                    self.add(
                        "no_regression", metric.value, self.number(tol, "tolerance"), "max", metric
                    )
                    tolerances += 1
            else:
                raise self.fail(
                    sub, f"unknown key {sub.value!r} in no_regression", ("against", "tolerance")
                )
        if self.reference is None:
            raise self.fail(node, "no_regression needs 'against' (an alias such as champion)")
        if not tolerances:
            raise self.fail(
                node, "no_regression needs 'tolerance' (metric: allowed drop, e.g. roc_auc: 0.01)"
            )

    def slices(self, node: yaml.Node) -> None:
        pairs = self.mapping(node, "slices")
        for sub, value in pairs:
            if sub.value == "min_rows":
                self.min_rows = int(self.number(value, "slices.min_rows"))
        self.bounds("slices", [(k, v) for k, v in pairs if k.value != "min_rows"], node, METRICS)

    def fairness(self, node: yaml.Node) -> None:
        self.bounds("fairness", self.mapping(node, "fairness"), node, FAIRNESS)

    def robustness(self, node: yaml.Node) -> None:
        known = ("max_drop", "behaviour_tests")
        for sub, value in self.mapping(
            node, "robustness", required="'max_drop' or 'behaviour_tests'"
        ):
            if sub.value == "max_drop":
                what = "robustness.max_drop"
                for kind, bound in self.mapping(value, what, required="perturbation: allowed drop"):
                    if kind.value not in PERTURBATIONS:
                        raise self.fail(kind, f"unknown perturbation {kind.value!r}", PERTURBATIONS)
                    self.add("robustness", kind.value, self.number(bound, "max_drop"), "max", kind)
            elif sub.value == "behaviour_tests":
                self.behaviour, self.behaviour_line = True, sub.start_mark.line + 1
            else:
                raise self.fail(sub, f"unknown key {sub.value!r} in robustness", known)

    def infra(self, node: yaml.Node) -> None:
        for sub, value in self.mapping(node, "infra", required="a budget such as max_size_mb"):
            if sub.value not in INFRA:
                raise self.fail(sub, f"unknown infra budget {sub.value!r}", tuple(INFRA))
            self.add("infra", sub.value, self.number(value, sub.value), "max", sub)

    def leakage(self, node: yaml.Node) -> None:
        for sub, value in self.mapping(node, "leakage", required="'allow: false' (or true)"):
            if sub.value != "allow":
                raise self.fail(sub, f"unknown key {sub.value!r} in leakage", ("allow",))
            text = value.value.lower() if isinstance(value, yaml.ScalarNode) else None
            if text not in _BOOLEANS:
                raise self.fail(value, "leakage.allow must be true or false")
            self.add("leakage", "findings", 1e18 if _BOOLEANS[text] else 0.0, "max", sub)


_SECTION_PARSERS: dict[str, Callable[[_Parser, yaml.Node], None]] = {
    "metrics": _Parser.metrics,
    "no_regression": _Parser.no_regression,
    "slices": _Parser.slices,
    "fairness": _Parser.fairness,
    "robustness": _Parser.robustness,
    "infra": _Parser.infra,
    "leakage": _Parser.leakage,
}


def parse_gates(text: str, source: str = "gates.yaml") -> Gates:
    """Parse gate rules from YAML text; errors name ``source:line``.

    Raises:
        InvalidGates: Malformed YAML, an unknown section/metric/bound, a non-number, or a
            section, bound or tolerance without a rule.
    """
    parser = _Parser(source)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InvalidGates(
            f"{source}{line}: malformed YAML: {getattr(exc, 'problem', exc)}",
            hint="Fix the YAML syntax at that line (see docs/evaluation.md#gates).",
        ) from exc
    if root is None:
        raise InvalidGates(f"{source}: the gate file is empty", hint="Add at least one rule.")
    for key, node in parser.mapping(root, "the gate file", required="at least one section"):
        section = _SECTION_PARSERS.get(key.value)
        if section is None:
            raise parser.fail(key, f"unknown section {key.value!r}", SECTIONS)
        section(parser, node)
    return Gates(
        tuple(parser.rules),
        parser.reference,
        parser.min_rows,
        parser.behaviour,
        parser.behaviour_line,
        source,
        text,
        parser.reference_line,
    )


def load_gates(path: str | os.PathLike[str]) -> Gates:
    """Read and parse a gate file.

    Raises:
        InvalidGates: The file cannot be read or has an error (message says file:line).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidGates(
            f"cannot read gate file {os.fspath(path)}: {exc.strerror or exc}",
            hint="Pass the path of an existing gates.yaml.",
        ) from exc
    return parse_gates(text, os.fspath(path))
