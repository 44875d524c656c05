"""Typed result sections of an evaluation report, one per check.

Each section is a frozen dataclass with ``to_dict()`` (the JSON form stored with
evaluations, unchanged since reports were dicts) and ``from_dict()`` (its inverse, so a
stored report can be judged again). Numbers that were not measured are NaN or None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


def _floats(values: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): v for k, v in values.items()}


@dataclass(frozen=True)
class MetricsResult:
    """Overall metrics of the model on the evaluation data (name -> value, task order)."""

    values: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, float]:
        """The ``metrics`` section."""
        return dict(self.values)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> MetricsResult:
        """Inverse of :meth:`to_dict`."""
        return cls(_floats(data or {}))


@dataclass(frozen=True)
class Curve:
    """Points of a plotted curve (ROC, PR, calibration, partial dependence)."""

    x: tuple[Any, ...]
    y: tuple[float, ...]

    def to_dict(self) -> dict[str, list[Any]]:
        """``{"x": [...], "y": [...]}``."""
        return {"x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Sequence[Any]]) -> Curve:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(data.get("x", ())), tuple(data.get("y", ())))


@dataclass(frozen=True)
class CurvesResult:
    """The confusion matrix and, for binary scores, ROC, PR and calibration curves."""

    labels: tuple[str, ...] = ()
    confusion_matrix: tuple[tuple[int, ...], ...] = ()
    roc: Curve | None = None
    pr: Curve | None = None
    calibration: Curve | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``curves`` section (empty for regression)."""
        if not self.labels:
            return {}
        out: dict[str, Any] = {
            "labels": list(self.labels),
            "confusion_matrix": [list(row) for row in self.confusion_matrix],
        }
        for name, curve in (("roc", self.roc), ("pr", self.pr), ("calibration", self.calibration)):
            if curve is not None:
                out[name] = curve.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> CurvesResult:
        """Inverse of :meth:`to_dict`."""
        data = data or {}

        def curve(name: str) -> Curve | None:
            return Curve.from_dict(data[name]) if data.get(name) is not None else None

        return cls(
            tuple(data.get("labels", ())),
            tuple(tuple(row) for row in data.get("confusion_matrix", ())),
            curve("roc"),
            curve("pr"),
            curve("calibration"),
        )


@dataclass(frozen=True)
class SliceResult:
    """Rows of one slice and the metrics on them (empty when the slice has no rows)."""

    name: str
    rows: int
    metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SlicesResult:
    """Metrics per slice, in the order the slices were given."""

    slices: tuple[SliceResult, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The ``slices`` section: name -> rows and metrics."""
        return {s.name: {"rows": s.rows, "metrics": dict(s.metrics)} for s in self.slices}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SlicesResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            tuple(
                SliceResult(str(name), int(body.get("rows", 0)), _floats(body.get("metrics") or {}))
                for name, body in (data or {}).items()
            )
        )


@dataclass(frozen=True)
class GroupRates:
    """Rates of one value of a sensitive column."""

    group: str
    count: float
    selection_rate: float
    tpr: float | None
    fpr: float | None
    accuracy: float

    def to_dict(self) -> dict[str, Any]:
        """Rates by name."""
        return {
            "count": self.count,
            "selection_rate": self.selection_rate,
            "tpr": self.tpr,
            "fpr": self.fpr,
            "accuracy": self.accuracy,
        }


@dataclass(frozen=True)
class ColumnFairness:
    """Parity and odds figures across the values of one sensitive column."""

    column: str
    demographic_parity_difference: float | None
    demographic_parity_ratio: float | None
    equalized_odds_difference: float | None
    groups: tuple[GroupRates, ...] = ()

    def measure(self, key: str) -> float | None:
        """One of the three figures by name (None for an unknown name)."""
        value: float | None = getattr(self, key, None) if key in _FAIRNESS_FIGURES else None
        return value

    def to_dict(self) -> dict[str, Any]:
        """The figures and per-group rates."""
        return {
            "demographic_parity_difference": self.demographic_parity_difference,
            "demographic_parity_ratio": self.demographic_parity_ratio,
            "equalized_odds_difference": self.equalized_odds_difference,
            "groups": {g.group: g.to_dict() for g in self.groups},
        }

    @classmethod
    def from_dict(cls, column: str, data: Mapping[str, Any]) -> ColumnFairness:
        """Inverse of :meth:`to_dict`."""
        groups = tuple(
            GroupRates(
                str(name),
                body["count"],
                body["selection_rate"],
                body.get("tpr"),
                body.get("fpr"),
                body["accuracy"],
            )
            for name, body in (data.get("groups") or {}).items()
        )
        return cls(
            column,
            data.get("demographic_parity_difference"),
            data.get("demographic_parity_ratio"),
            data.get("equalized_odds_difference"),
            groups,
        )


_FAIRNESS_FIGURES = frozenset(
    {"demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference"}
)


@dataclass(frozen=True)
class FairnessResult:
    """Fairness per sensitive column, in the order the columns were given."""

    columns: tuple[ColumnFairness, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The ``fairness`` section: column -> figures."""
        return {c.column: c.to_dict() for c in self.columns}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> FairnessResult:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(ColumnFairness.from_dict(str(k), v) for k, v in (data or {}).items()))


@dataclass(frozen=True)
class PerturbationResult:
    """The primary metric under one perturbation and its drop (positive = worse).

    ``error`` says why the model could not score the perturbed data (then both are None).
    """

    kind: str
    metric: float | None
    drop: float | None
    error: str | None = None


@dataclass(frozen=True)
class RobustnessResult:
    """The metric drop under each perturbation."""

    perturbations: tuple[PerturbationResult, ...] = ()

    def get(self, kind: str) -> PerturbationResult | None:
        """The result of one perturbation, or None when it was not measured."""
        return next((p for p in self.perturbations if p.kind == kind), None)

    def to_dict(self) -> dict[str, Any]:
        """The ``robustness`` section: perturbation -> metric, drop and error."""
        return {
            p.kind: {"metric": p.metric, "drop": p.drop, "error": p.error}
            for p in self.perturbations
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RobustnessResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            tuple(
                PerturbationResult(str(k), v.get("metric"), v.get("drop"), v.get("error"))
                for k, v in (data or {}).items()
            )
        )


@dataclass(frozen=True)
class BehaviourTestResult:
    """One invariance or directional test: the measured fraction and its bound."""

    name: str
    kind: str  # "invariance" or "directional"
    measured: float
    bound: float
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        """The test's entry of ``behaviour_tests``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "measured": self.measured,
            "bound": self.bound,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class BehaviourResult:
    """Every invariance and directional test, in the order given."""

    tests: tuple[BehaviourTestResult, ...] = ()

    def to_dict(self) -> list[dict[str, Any]]:
        """The ``behaviour_tests`` section."""
        return [t.to_dict() for t in self.tests]

    @classmethod
    def from_dict(cls, data: Sequence[Mapping[str, Any]] | None) -> BehaviourResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            tuple(
                BehaviourTestResult(
                    str(t["name"]), str(t["kind"]), t["measured"], t["bound"], bool(t["passed"])
                )
                for t in data or ()
            )
        )


#: Infra figures in report order (after ``size_mb`` and ``loads``).
INFRA_FIGURES = (
    "load_s",
    "latency_p50_ms",
    "latency_p95_ms",
    "batch_rows",
    "batch_latency_p50_ms",
    "batch_latency_p95_ms",
    "peak_memory_mb",
)


@dataclass(frozen=True)
class InfraResult:
    """Fresh-process load, latency, size and memory; ``loads`` False carries the ``error``."""

    size_mb: float
    loads: bool
    error: str | None = None
    figures: Mapping[str, float] = field(default_factory=dict)

    def measure(self, key: str) -> float | None:
        """A figure by its report name (``size_mb``, ``latency_p95_ms``...), or None."""
        if key == "size_mb":
            return self.size_mb
        return self.figures.get(key)

    def to_dict(self) -> dict[str, Any]:
        """The ``infra`` section."""
        out: dict[str, Any] = {"size_mb": self.size_mb, "loads": self.loads}
        if self.error is not None:
            out["error"] = self.error
        out.update({k: self.figures[k] for k in INFRA_FIGURES if k in self.figures})
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> InfraResult | None:
        """Inverse of :meth:`to_dict`; None for an empty section."""
        if not data:
            return None
        figures = {k: data[k] for k in INFRA_FIGURES if k in data}
        return cls(data.get("size_mb", 0.0), bool(data.get("loads")), data.get("error"), figures)


@dataclass(frozen=True)
class AnalysisResult:
    """Permutation importance (metric drop per shuffled feature, largest first) and the
    partial dependence of the top features."""

    metric: str
    permutation_importance: Mapping[str, float] = field(default_factory=dict)
    partial_dependence: Mapping[str, Curve] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``analysis`` section."""
        return {
            "metric": self.metric,
            "permutation_importance": dict(self.permutation_importance),
            "partial_dependence": {k: v.to_dict() for k, v in self.partial_dependence.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> AnalysisResult | None:
        """Inverse of :meth:`to_dict`; None for an empty section."""
        if not data:
            return None
        return cls(
            str(data.get("metric", "")),
            _floats(data.get("permutation_importance") or {}),
            {k: Curve.from_dict(v) for k, v in (data.get("partial_dependence") or {}).items()},
        )


@dataclass(frozen=True)
class LeakageFinding:
    """One leakage finding: which check, what it found, and the measured value."""

    check: str  # "shared_rows", "predictive_feature" or "time_order"
    detail: str
    value: float
    feature: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The finding's entry of ``leakage``."""
        out: dict[str, Any] = {"check": self.check, "detail": self.detail, "value": self.value}
        if self.feature is not None:
            out["feature"] = self.feature
        return out


@dataclass(frozen=True)
class LeakageResult:
    """Every leakage finding (none: the checks ran and found nothing)."""

    findings: tuple[LeakageFinding, ...] = ()

    def to_dict(self) -> list[dict[str, Any]]:
        """The ``leakage`` section."""
        return [f.to_dict() for f in self.findings]

    @classmethod
    def from_dict(cls, data: Sequence[Mapping[str, Any]] | None) -> LeakageResult | None:
        """Inverse of :meth:`to_dict`; None when leakage was not checked."""
        if data is None:
            return None
        return cls(
            tuple(
                LeakageFinding(str(f["check"]), str(f["detail"]), f["value"], f.get("feature"))
                for f in data
            )
        )


@dataclass(frozen=True)
class ReferenceResult:
    """The reference model of no-regression rules and its metrics on the same data.

    ``metrics`` is None when there is nothing to compare with yet; ``note`` says why.
    """

    uri: str | None
    metrics: Mapping[str, float] | None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``reference`` section."""
        out: dict[str, Any] = {
            "uri": self.uri,
            "metrics": None if self.metrics is None else dict(self.metrics),
        }
        if self.note is not None:
            out["note"] = self.note
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ReferenceResult | None:
        """Inverse of :meth:`to_dict`; None without a reference."""
        if data is None:
            return None
        metrics = data.get("metrics")
        return cls(data.get("uri"), None if metrics is None else _floats(metrics), data.get("note"))


@dataclass(frozen=True)
class CheckResults:
    """The sections of a report; a check that did not run leaves its section None."""

    metrics: MetricsResult = field(default_factory=MetricsResult)
    curves: CurvesResult = field(default_factory=CurvesResult)
    slices: SlicesResult = field(default_factory=SlicesResult)
    fairness: FairnessResult = field(default_factory=FairnessResult)
    robustness: RobustnessResult = field(default_factory=RobustnessResult)
    behaviour_tests: BehaviourResult = field(default_factory=BehaviourResult)
    infra: InfraResult | None = None
    analysis: AnalysisResult | None = None
    leakage: LeakageResult | None = None
    reference: ReferenceResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """Every section in report order (absent sections as today: ``{}`` or None)."""
        return {
            "metrics": self.metrics.to_dict(),
            "slices": self.slices.to_dict(),
            "fairness": self.fairness.to_dict(),
            "robustness": self.robustness.to_dict(),
            "behaviour_tests": self.behaviour_tests.to_dict(),
            "infra": {} if self.infra is None else self.infra.to_dict(),
            "analysis": {} if self.analysis is None else self.analysis.to_dict(),
            "leakage": None if self.leakage is None else self.leakage.to_dict(),
            "curves": self.curves.to_dict(),
            "reference": None if self.reference is None else self.reference.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResults:
        """Inverse of :meth:`to_dict` (extra keys are ignored)."""
        return cls(
            MetricsResult.from_dict(data.get("metrics")),
            CurvesResult.from_dict(data.get("curves")),
            SlicesResult.from_dict(data.get("slices")),
            FairnessResult.from_dict(data.get("fairness")),
            RobustnessResult.from_dict(data.get("robustness")),
            BehaviourResult.from_dict(data.get("behaviour_tests")),
            InfraResult.from_dict(data.get("infra")),
            AnalysisResult.from_dict(data.get("analysis")),
            LeakageResult.from_dict(data.get("leakage")),
            ReferenceResult.from_dict(data.get("reference")),
        )
