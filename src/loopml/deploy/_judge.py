"""A Kayenta-style non-parametric judge of a canary metric against the stable arm.

For one metric, the canary's samples are compared with the stable arm's by the
Mann-Whitney U test (no assumption on the shape of latencies or scores). A statistically
significant difference fails only when it is also *practically* significant: its effect
size is beyond a tolerance band. At large n every difference is significant, so without
the band a 0.1 ms latency shift would roll a good canary back (Kayenta's "effect size"
and "critical" thresholds, Netflix/Spinnaker's canary judge, play the same role).

Effect sizes:

- ``hodges_lehmann``: the median of all pairwise differences canary - stable, relative to
  the stable median (latencies, scores);
- ``mean``: the difference of means relative to the stable mean (0/1 outcomes such as
  errors, where every pairwise difference is 0 and the median is useless);
- ``cles``: the common-language effect size ``P(canary > stable) + P(=)/2`` minus 0.5,
  which is scale-free (the tolerance is in probability, e.g. 0.06).

Absolute bounds (``min``/``max`` on an aggregate of the canary's samples, e.g. the p95)
are checked first and fail regardless of the stable arm.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Sequence

Direction = Literal["increase", "decrease", "either"]
Effect = Literal["hodges_lehmann", "mean", "cles"]
Aggregate = Literal["mean", "median", "p50", "p90", "p95", "p99", "max", "min"]
_MAX_PAIRS = 1_000_000
_QUANTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}


class Outcome(enum.StrEnum):
    """The verdict on a metric, or on a whole analysis interval."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class JudgeResult:
    """The verdict on one metric for one interval.

    Attributes:
        metric: The metric's name.
        outcome: Pass, Fail or Inconclusive (too few samples).
        reason: Which value broke which bound, or why it passed.
        canary_value: The canary's aggregate (what absolute bounds are checked on).
        stable_value: The stable arm's aggregate (None without a comparison).
        effect: The effect size (see the module docstring), None when not compared.
        p_value: The Mann-Whitney p-value, None when not compared.
        bound: The bound or tolerance that decided a failure (None otherwise).
        n_canary: Canary samples.
        n_stable: Stable samples.
    """

    metric: str
    outcome: Outcome
    reason: str
    canary_value: float | None = None
    stable_value: float | None = None
    effect: float | None = None
    p_value: float | None = None
    bound: float | None = None
    n_canary: int = 0
    n_stable: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "metric": self.metric,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "canary_value": self.canary_value,
            "stable_value": self.stable_value,
            "effect": self.effect,
            "p_value": self.p_value,
            "bound": self.bound,
            "n_canary": self.n_canary,
            "n_stable": self.n_stable,
        }


def aggregate(values: np.ndarray[Any, Any], how: str) -> float:
    """The aggregate ``how`` (mean, median, pNN, min, max) of non-empty ``values``."""
    if how == "mean":
        return float(np.mean(values))
    if how == "median":
        return float(np.median(values))
    if how in _QUANTILES:
        return float(np.percentile(values, _QUANTILES[how]))
    if how == "max":
        return float(np.max(values))
    if how == "min":
        return float(np.min(values))
    raise InvalidInput(
        f"unknown aggregate {how!r}",
        hint=f"Accepted: mean, median, min, max, {', '.join(_QUANTILES)}.",
    )


def hodges_lehmann(
    canary: Sequence[float] | np.ndarray[Any, Any], stable: Sequence[float] | np.ndarray[Any, Any]
) -> float:
    """Median of the pairwise differences canary - stable (the Hodges-Lehmann shift).

    Exact for up to a million pairs; beyond, the median is found by bisection on the
    shift, counting the pairs below it with a binary search per canary sample
    (``O(n log m)`` per step), so no pair is dropped and no sample is drawn.
    """
    c = np.asarray(canary, dtype=float)
    s = np.sort(np.asarray(stable, dtype=float))
    if c.size == 0 or s.size == 0:
        raise InvalidInput("hodges_lehmann needs samples on both sides")
    if c.size * s.size <= _MAX_PAIRS:
        return float(np.median(np.subtract.outer(c, s)))
    target = c.size * s.size / 2
    lo, hi = float(c.min() - s[-1]), float(c.max() - s[0])
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        below = c.size * s.size - int(np.searchsorted(s, c - mid, side="left").sum())
        if below >= target:
            hi = mid
        else:
            lo = mid
    return hi


@dataclass(frozen=True)
class Judge:
    """Compare a canary metric with the stable arm, with a practical-significance band.

    Args:
        direction: Which way is bad: ``increase`` (latency, errors), ``decrease`` (a live
            accuracy) or ``either`` (a score distribution shift).
        tolerance: Relative effect allowed in the bad direction (0.1: 10 % of the stable
            median or mean; for ``cles`` an absolute probability).
        abs_tolerance: Absolute effect always allowed (covers a stable value near 0, such
            as an error rate of 0).
        effect: The effect size (``hodges_lehmann``, ``mean`` or ``cles``).
        alpha: Significance of the Mann-Whitney test.
        min_samples: Samples each arm needs; fewer is Inconclusive.
        aggregate: The canary statistic that absolute bounds are checked on.
        min: Absolute lower bound on the aggregate (None: none).
        max: Absolute upper bound on the aggregate (None: none).
        compare: Whether to compare with the stable arm at all (False: bounds only).
    """

    direction: Direction = "increase"
    tolerance: float = 0.1
    abs_tolerance: float = 0.0
    effect: Effect = "hodges_lehmann"
    alpha: float = 0.05
    min_samples: int = 20
    aggregate: str = "mean"
    min: float | None = None
    max: float | None = None
    compare: bool = True

    def __post_init__(self) -> None:
        if self.direction not in ("increase", "decrease", "either"):
            raise InvalidInput(f"judge: unknown direction {self.direction!r}")
        if self.effect not in ("hodges_lehmann", "mean", "cles"):
            raise InvalidInput(f"judge: unknown effect size {self.effect!r}")
        if self.tolerance < 0 or self.abs_tolerance < 0 or not 0 < self.alpha < 1:
            raise InvalidInput("judge: tolerances must be >= 0 and alpha in (0, 1)")
        if self.min_samples < 1:
            raise InvalidInput(f"judge: min_samples must be >= 1, got {self.min_samples}")
        aggregate(np.zeros(1), self.aggregate)

    def judge(
        self,
        metric: str,
        canary: Sequence[float] | np.ndarray[Any, Any],
        stable: Sequence[float] | np.ndarray[Any, Any] | None = None,
    ) -> JudgeResult:
        """The verdict on ``metric`` given this interval's samples of each arm.

        Args:
            metric: Name used in the reason.
            canary: The canary's samples (finite numbers).
            stable: The stable arm's samples (None or empty: only absolute bounds).

        Returns:
            Pass, Fail with the value and the bound, or Inconclusive.
        """
        c = _clean(canary)
        s = _clean(stable) if stable is not None else np.zeros(0)
        counts = {"n_canary": int(c.size), "n_stable": int(s.size)}
        if c.size < self.min_samples:
            return JudgeResult(
                metric,
                Outcome.INCONCLUSIVE,
                f"{metric}: {c.size} canary samples, {self.min_samples} needed",
                **counts,
            )
        value = aggregate(c, self.aggregate)
        label = f"{metric} {self.aggregate}"
        if self.max is not None and value > self.max:
            return JudgeResult(
                metric, Outcome.FAIL, f"{label} {value:.4g} > max {self.max:g}",
                canary_value=value, bound=self.max, **counts,
            )  # fmt: skip
        if self.min is not None and value < self.min:
            return JudgeResult(
                metric, Outcome.FAIL, f"{label} {value:.4g} < min {self.min:g}",
                canary_value=value, bound=self.min, **counts,
            )  # fmt: skip
        if not self.compare or stable is None:
            return JudgeResult(
                metric, Outcome.PASS, f"{label} {value:.4g} within bounds",
                canary_value=value, **counts,
            )  # fmt: skip
        if s.size < self.min_samples:
            return JudgeResult(
                metric,
                Outcome.INCONCLUSIVE,
                f"{metric}: {s.size} stable samples, {self.min_samples} needed",
                canary_value=value,
                **counts,
            )
        return self._compare(metric, c, s, value, counts)

    def _compare(
        self,
        metric: str,
        c: np.ndarray[Any, Any],
        s: np.ndarray[Any, Any],
        value: float,
        counts: dict[str, int],
    ) -> JudgeResult:
        from scipy import stats

        alternative = {"increase": "greater", "decrease": "less", "either": "two-sided"}
        test = stats.mannwhitneyu(c, s, alternative=alternative[self.direction])
        p_value = float(test.pvalue) if math.isfinite(test.pvalue) else 1.0
        stable_value = aggregate(s, self.aggregate)
        if self.effect == "cles":
            effect = (
                float(stats.mannwhitneyu(c, s, alternative="two-sided").statistic)
                / (c.size * s.size)
                - 0.5
            )
            ref, allowed = 1.0, max(self.tolerance, self.abs_tolerance)
        else:
            if self.effect == "mean":
                effect, ref = float(c.mean() - s.mean()), float(abs(s.mean()))
            else:
                effect, ref = hodges_lehmann(c, s), float(abs(np.median(s)))
            allowed = max(self.tolerance * ref, self.abs_tolerance)
        bad = {"increase": effect, "decrease": -effect, "either": abs(effect)}[self.direction]
        rel = effect / ref if ref > 0 else math.inf if effect else 0.0
        shift = (
            f"{self.effect} shift {effect:+.4g} ({rel:+.1%} of stable)"
            if ref
            else (f"{self.effect} shift {effect:+.4g}")
        )
        fields: dict[str, Any] = {
            "canary_value": value, "stable_value": stable_value, "effect": effect,
            "p_value": p_value, **counts,
        }  # fmt: skip
        if p_value < self.alpha and bad > allowed:
            return JudgeResult(
                metric, Outcome.FAIL,
                f"{metric}: canary worse than stable, {shift}, beyond tolerance "
                f"{allowed:.4g} (Mann-Whitney p={p_value:.3g})",
                bound=allowed, **fields,
            )  # fmt: skip
        why = "within tolerance" if p_value < self.alpha else "no significant difference"
        return JudgeResult(
            metric, Outcome.PASS, f"{metric}: {why}, {shift} (p={p_value:.3g})", **fields
        )


def _clean(values: Sequence[float] | np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    array = np.asarray(values, dtype=float).ravel()
    return np.asarray(array[np.isfinite(array)])
