"""Null distributions at the window's size, p-values, bootstrap intervals and the
Benjamini–Hochberg correction.

Two samples of sizes ``m`` (reference) and ``n`` (window) from one distribution give
statistics whose spread shrinks with the effective size ``n m / (n + m)``; the nulls here
are taken at exactly that size, so a threshold means the same at 500 rows and at 10
million. Where an asymptotic law is known it is used (Kolmogorov for KS; chi-square for
PSI, Jensen–Shannon and the chi-square test, whose second-order expansions are scaled
chi-squares); the Wasserstein null, which depends on the distribution, is simulated by a
Poisson bootstrap from the pooled bins and its tail read from a moment-matched gamma.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy import stats

if TYPE_CHECKING:
    from collections.abc import Callable

Array = npt.NDArray[np.float64]
REPLICATES = 200


def effective_size(n: float, m: float) -> float:
    """``n m / (n + m)``: the size a one-sample test with these two samples behaves as."""
    return n * m / (n + m) if n > 0 and m > 0 else 0.0


def ks_p(d: float, ne: float) -> float:
    """Kolmogorov p-value with Stephens' small-sample correction."""
    root = math.sqrt(ne)
    return float(stats.kstwobign.sf((root + 0.12 + 0.11 / root) * d))


def ks_threshold(alpha: float, ne: float) -> float:
    """The KS distance a same-distribution pair exceeds with probability ``alpha``."""
    root = math.sqrt(ne)
    return float(stats.kstwobign.isf(alpha) / (root + 0.12 + 0.11 / root))


def chi2_p(scaled: float, dof: int) -> float:
    """Upper tail of a chi-square with ``dof`` degrees of freedom."""
    return float(stats.chi2.sf(scaled, max(dof, 1)))


def chi2_quantile(alpha: float, dof: int) -> float:
    """The chi-square value exceeded with probability ``alpha``."""
    return float(stats.chi2.isf(alpha, max(dof, 1)))


def gamma_fit(null: Array) -> tuple[float, float]:
    """Shape and scale of a gamma matching the null's mean and variance."""
    mean, var = float(np.mean(null)), float(np.var(null))
    if mean <= 0 or var <= 0:
        return 1.0, max(mean, 1e-300)
    return mean * mean / var, var / mean


def gamma_p(value: float, fit: tuple[float, float]) -> float:
    """Upper tail of the fitted gamma at ``value``."""
    return float(stats.gamma.sf(value, fit[0], scale=fit[1]))


def gamma_quantile(alpha: float, fit: tuple[float, float]) -> float:
    """The fitted gamma's value exceeded with probability ``alpha``."""
    return float(stats.gamma.isf(alpha, fit[0], scale=fit[1]))


def poisson_pair(
    rng: np.random.Generator, ref: Array, cur: Array, replicates: int = REPLICATES
) -> tuple[Array, Array]:
    """Poisson-bootstrap replicates of two count vectors (rows: replicates)."""
    shape = (replicates, ref.size)
    return (
        rng.poisson(ref, size=shape).astype(np.float64),
        rng.poisson(cur, size=shape).astype(np.float64),
    )


def null_pair(
    rng: np.random.Generator, ref: Array, cur: Array, replicates: int = REPLICATES
) -> tuple[Array, Array]:
    """Replicates of both sides drawn from the pooled bins at the two sides' sizes."""
    pooled = (ref + cur) / max(ref.sum() + cur.sum(), 1.0)
    return poisson_pair(rng, pooled * ref.sum(), pooled * cur.sum(), replicates)


def interval(values: Array, confidence: float) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates."""
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_interval(
    statistic: Callable[[Array, Array], Array],
    rng: np.random.Generator,
    ref: Array,
    cur: Array,
    confidence: float,
) -> tuple[float, float]:
    """Percentile interval of ``statistic`` over Poisson-bootstrap replicates."""
    boot_ref, boot_cur = poisson_pair(rng, ref, cur)
    return interval(statistic(boot_ref, boot_cur), confidence)


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values), in the input order."""
    if not p_values:
        return []
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p)
    ranked = p[order] * p.size / np.arange(1, p.size + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(p)
    out[order] = np.minimum(adjusted, 1.0)
    return [float(v) for v in out]
