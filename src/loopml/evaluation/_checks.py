"""The checks ``evaluate`` runs: each computes one kind of result and reports it as a
typed section of the report.

A check takes keyword-only parameters, keeps them under the same names (``get_params``),
and acts only in ``run(context)``. ``plugins.BUILTIN["checks"]`` names each one.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from loopml.errors import InvalidEvaluationData
from loopml.evaluation._analysis import leakage as find_leakage
from loopml.evaluation._analysis import partial_dependence, permutation_importance
from loopml.evaluation._context import read_table
from loopml.evaluation._infra import infra_check
from loopml.evaluation._metrics import curves
from loopml.evaluation._results import (
    AnalysisResult,
    BehaviourResult,
    ColumnFairness,
    Curve,
    CurvesResult,
    FairnessResult,
    InfraResult,
    LeakageResult,
    MetricsResult,
    RobustnessResult,
    SliceResult,
    SlicesResult,
)
from loopml.evaluation._robustness import behaviour_tests
from loopml.evaluation._robustness import robustness as run_robustness
from loopml.evaluation._slices import fairness, parse_slices

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loopml.evaluation._context import EvaluationContext
    from loopml.evaluation._robustness import DirectionalTest, InvarianceTest
    from loopml.evaluation._slices import SliceLike

S = TypeVar("S")


class Check(ABC, Generic[S]):
    """Base of the checks: ``name`` is the report section it fills."""

    name: ClassVar[str]

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters as given (for cache keys, lineage and cards)."""
        return {p: getattr(self, p) for p in inspect.signature(type(self)).parameters}

    @abstractmethod
    def run(self, context: EvaluationContext) -> S:
        """Compute the section on ``context``."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


class MetricsCheck(Check[MetricsResult]):
    """Every metric of the task on the whole evaluation data (compare sklearn.metrics)."""

    name = "metrics"

    def run(self, context: EvaluationContext) -> MetricsResult:
        """The ``metrics`` section."""
        return MetricsResult(context.base_metrics)


class CurvesCheck(Check[CurvesResult]):
    """Confusion matrix, and ROC/PR/calibration points of binary scores (classification)."""

    name = "curves"

    def run(self, context: EvaluationContext) -> CurvesResult:
        """The ``curves`` section (empty for regression)."""
        if context.task != "classification":
            return CurvesResult()
        scorer = context.scorer
        body = curves(context.y, scorer.proba(context.X), scorer.classes, context.predictions)
        return CurvesResult.from_dict(body)


class SlicesCheck(Check[SlicesResult]):
    """Metrics on subsets of the rows.

    Args:
        slices: Column names (one slice per value), :class:`Slice` objects or dicts.
    """

    name = "slices"

    def __init__(self, *, slices: Sequence[SliceLike] = ()) -> None:
        self.slices = slices

    def run(self, context: EvaluationContext) -> SlicesResult:
        """The ``slices`` section, in the order the slices were given."""
        out = []
        for spec in parse_slices(self.slices, context.frame):
            mask = spec.mask(context.frame)
            rows = int(mask.sum())
            metrics = context.scorer.metrics(context.X[mask], context.y[mask]) if rows else {}
            out.append(SliceResult(spec.name, rows, metrics))
        return SlicesResult(tuple(out))


class FairnessCheck(Check[FairnessResult]):
    """Parity and equalised odds across the values of sensitive columns (classification).

    Args:
        sensitive: The columns to measure across.
    """

    name = "fairness"

    def __init__(self, *, sensitive: Sequence[str] = ()) -> None:
        self.sensitive = sensitive

    def run(self, context: EvaluationContext) -> FairnessResult:
        """The ``fairness`` section (empty for regression)."""
        if context.task != "classification":
            return FairnessResult()
        out = []
        for column in self.sensitive:
            if column not in context.frame.columns:
                raise InvalidEvaluationData(
                    f"sensitive column {column!r} is not in the evaluation data",
                    hint=f"Columns: {', '.join(map(str, context.frame.columns))}.",
                    column=column,
                )
            groups = context.frame[column].astype(str).to_numpy()
            body = fairness(context.y, context.predictions, groups, context.scorer.classes[-1])
            out.append(ColumnFairness.from_dict(column, body))
        return FairnessResult(tuple(out))


class RobustnessCheck(Check[RobustnessResult]):
    """Drop of the primary metric under noise, category swaps and missing values.

    Args:
        level: Strength of each perturbation (noise in standard deviations, share of rows).
        seed: Seed of the perturbations.
    """

    name = "robustness"

    def __init__(self, *, level: float = 0.1, seed: int = 0) -> None:
        self.level = level
        self.seed = seed

    def run(self, context: EvaluationContext) -> RobustnessResult:
        """The ``robustness`` section; a model that fails on perturbed data reports the error."""
        scorer, y = context.scorer, context.y
        body = run_robustness(
            context.X,
            lambda frame: scorer.primary_on(frame, y),
            context.base_metrics.get(scorer.primary, float("nan")),
            lower_is_better=scorer.lower_is_better,
            seed=self.seed,
            level=self.level,
        )
        return RobustnessResult.from_dict(body)


class BehaviourCheck(Check[BehaviourResult]):
    """Invariance and directional tests written by the user.

    Args:
        tests: The tests to run.
    """

    name = "behaviour_tests"

    def __init__(self, *, tests: Sequence[InvarianceTest | DirectionalTest] = ()) -> None:
        self.tests = tests

    def run(self, context: EvaluationContext) -> BehaviourResult:
        """The ``behaviour_tests`` section."""
        model, scorer = context.model, context.scorer
        body = behaviour_tests(context.X, model.predict, scorer.score_values, list(self.tests))
        return BehaviourResult.from_dict(body)


class AnalysisCheck(Check[AnalysisResult]):
    """Permutation importance of every feature and partial dependence of the top ones.

    Args:
        max_rows: Rows sampled for the analysis.
        top: How many of the most important features get a partial-dependence curve.
        seed: Seed of the sample and the shuffles.
    """

    name = "analysis"

    def __init__(self, *, max_rows: int = 5000, top: int = 3, seed: int = 0) -> None:
        self.max_rows = max_rows
        self.top = top
        self.seed = seed

    def run(self, context: EvaluationContext) -> AnalysisResult:
        """The ``analysis`` section."""
        X, scorer = context.X, context.scorer
        sample = X.sample(min(len(X), self.max_rows), random_state=self.seed)
        ys = context.y[X.index.get_indexer(sample.index)]
        importance = permutation_importance(
            sample,
            lambda frame: scorer.primary_on(frame, ys),
            scorer.primary_on(sample, ys),
            lower_is_better=scorer.lower_is_better,
            seed=self.seed,
        )
        top = list(importance)[: self.top]
        dependence = partial_dependence(sample, scorer.score_values, top)
        return AnalysisResult(
            scorer.primary,
            importance,
            {k: Curve.from_dict(v) for k, v in dependence.items()},
        )


class LeakageCheck(Check[LeakageResult]):
    """Rows shared with the training data, features that alone predict the target, and
    evaluation rows older than the newest training row.

    Args:
        train_data: Training data (DataFrame or path), for the shared-rows and time checks.
    """

    name = "leakage"

    def __init__(self, *, train_data: Any = None) -> None:
        self.train_data = train_data

    def run(self, context: EvaluationContext) -> LeakageResult:
        """The ``leakage`` section."""
        frame, stamp = context.frame, context.timestamp_column
        columns = list(context.feature_columns)
        if stamp and stamp in frame.columns and stamp not in columns:
            columns.append(stamp)
        train = None if self.train_data is None else read_table(self.train_data)
        findings = find_leakage(
            frame[columns],
            context.y,
            task=context.task,
            train_frame=None if train is None else train[[c for c in columns if c in train]],
            timestamp_column=stamp,
        )
        return LeakageResult.from_dict(findings) or LeakageResult()


class InfraCheck(Check[InfraResult]):
    """Load the model in a fresh process; single-row and batch latency, size, peak memory.

    Args:
        rows: Single-row predictions timed.
    """

    name = "infra"

    def __init__(self, *, rows: int = 50) -> None:
        self.rows = rows

    def run(self, context: EvaluationContext) -> InfraResult:
        """The ``infra`` section; a model that does not load there says why."""
        body = infra_check(
            context.model.path,
            context.manifest_digest,
            context.X,
            context.model.size_bytes,
            rows=self.rows,
        )
        return InfraResult.from_dict(body) or InfraResult(0.0, False, "not measured")
