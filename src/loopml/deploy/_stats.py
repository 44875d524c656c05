"""Per-arm summaries and the sample-ratio-mismatch check (pure: no I/O).

An arm is summarised by its count, mean and variance, so a running A/B test keeps three
numbers per arm however much traffic it sees, and a binary outcome (converted, fraud
caught) is the special case mean = rate, variance = rate * (1 - rate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

SRM_ALPHA = 0.001
"""Default significance of the ratio check: strict, because it runs at every look."""


@dataclass(frozen=True)
class ArmSummary:
    """Count, mean and (unbiased) variance of one arm's outcomes.

    Attributes:
        n: Number of outcomes.
        mean: Their mean (the rate for 0/1 outcomes).
        variance: Their sample variance (``ddof=1``; 0 for fewer than two outcomes).
    """

    n: int
    mean: float
    variance: float

    @classmethod
    def from_binary(cls, n: int, successes: int) -> ArmSummary:
        """Summary of ``successes`` ones among ``n`` 0/1 outcomes.

        The variance is that of the observed rate, except that a rate of exactly 0 or 1
        (no information on the spread yet) uses the Laplace-smoothed rate, so an arm
        with no successes so far does not claim a variance of zero.
        """
        if n < 0 or successes < 0 or successes > n:
            raise InvalidInput(
                f"binary arm: successes must lie in 0..n, received n={n}, successes={successes}",
                hint="Pass the number of outcomes and how many of them were 1.",
            )
        if n == 0:
            return cls(0, 0.0, 0.0)
        rate = successes / n
        smoothed = rate if 0 < successes < n else (successes + 1) / (n + 2)
        return cls(n, rate, smoothed * (1 - smoothed) * (n / (n - 1) if n > 1 else 1.0))

    @classmethod
    def from_samples(cls, values: Sequence[float] | np.ndarray[Any, Any]) -> ArmSummary:
        """Summary of raw outcomes (finite numbers)."""
        array = np.asarray(values, dtype=float)
        if array.ndim != 1 or not np.all(np.isfinite(array)):
            raise InvalidInput(
                "arm outcomes must be a 1-D sequence of finite numbers",
                hint="Drop missing values before summarising an arm.",
            )
        n = int(array.size)
        if n == 0:
            return cls(0, 0.0, 0.0)
        return cls(n, float(array.mean()), float(array.var(ddof=1)) if n > 1 else 0.0)

    @classmethod
    def from_moments(cls, n: int, total: float, total_sq: float) -> ArmSummary:
        """Summary from running sums (count, sum, sum of squares), as a log keeps them."""
        if n <= 0:
            return cls(0, 0.0, 0.0)
        mean = total / n
        var = max(total_sq - n * mean * mean, 0.0) / (n - 1) if n > 1 else 0.0
        return cls(n, mean, var)

    def to_dict(self) -> dict[str, float | int]:
        """Plain dict for JSON."""
        return {"n": self.n, "mean": self.mean, "variance": self.variance}


@dataclass(frozen=True)
class SrmResult:
    """The verdict of a sample-ratio-mismatch check.

    Attributes:
        counts: Observed units per arm.
        expected: Units per arm the configured split predicts.
        statistic: Pearson's chi-square statistic (0 when not judged).
        p_value: Its p-value (1 when not judged).
        alpha: The threshold the p-value was compared with.
        mismatch: True when the split is broken (p < alpha).
        judged: False when the expected counts are too small to judge (< 5 in an arm).
    """

    counts: dict[str, int]
    expected: dict[str, float]
    statistic: float
    p_value: float
    alpha: float
    mismatch: bool
    judged: bool

    @property
    def reason(self) -> str:
        """One line for people: what was seen against what the split says."""
        seen = ", ".join(f"{k}={v}" for k, v in self.counts.items())
        want = ", ".join(f"{k}={v:.1f}" for k, v in self.expected.items())
        if not self.judged:
            return f"too few units to check the split ({seen}; expected {want})"
        verdict = "sample ratio mismatch" if self.mismatch else "split holds"
        return f"{verdict}: observed {seen}, expected {want} (p={self.p_value:.3g})"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "counts": dict(self.counts),
            "expected": dict(self.expected),
            "statistic": self.statistic,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "mismatch": self.mismatch,
            "judged": self.judged,
            "reason": self.reason,
        }


def srm_check(
    counts: Mapping[str, int], weights: Mapping[str, float], *, alpha: float = SRM_ALPHA
) -> SrmResult:
    """Check that the units per arm fit the configured split (Pearson chi-square).

    A broken split (a router bug, a crashing arm, bots in one arm) biases every comparison
    of the arms, so an A/B result is only trusted while this check passes. The default
    ``alpha`` of 0.001 is strict because the check is repeated at every look.

    Args:
        counts: Units assigned to each arm.
        weights: The configured split (any positive scale: ``{"a": 50, "b": 50}``).
        alpha: A p-value below it flags a mismatch.

    Returns:
        The verdict; ``judged`` is False while an arm expects fewer than 5 units.

    Raises:
        InvalidInput: When the arms of ``counts`` and ``weights`` differ or a weight is
            not positive.
    """
    from scipy import stats

    if set(counts) != set(weights) or len(weights) < 2:
        raise InvalidInput(
            f"sample ratio check: arms {sorted(counts)} do not match the split {sorted(weights)}",
            hint="Give a count and a weight for the same two or more arms.",
        )
    if any(not (w > 0 and math.isfinite(w)) for w in weights.values()):
        raise InvalidInput(
            f"sample ratio check: weights must be positive, received {dict(weights)}",
            hint="Leave an arm with weight 0 out of the check.",
        )
    if not 0 < alpha < 1:
        raise InvalidInput(f"sample ratio check: alpha must lie in (0, 1), received {alpha}")
    arms = sorted(weights)
    total_w = sum(weights[a] for a in arms)
    total = sum(int(counts[a]) for a in arms)
    expected = {a: total * weights[a] / total_w for a in arms}
    observed = {a: int(counts[a]) for a in arms}
    if min(expected.values()) < 5:
        return SrmResult(observed, expected, 0.0, 1.0, alpha, False, False)
    result = stats.chisquare([observed[a] for a in arms], [expected[a] for a in arms])
    p_value = float(result.pvalue)
    return SrmResult(
        observed, expected, float(result.statistic), p_value, alpha, p_value < alpha, True
    )
