"""An anytime-valid sequential A/B test: the mixture sequential probability ratio test.

Reference: R. Johari, P. Koomen, L. Pekelis and D. Walsh, "Always Valid Inference:
Continuous Monitoring of A/B Tests", Operations Research 70(3), 2022 (first circulated as
Johari, Pekelis & Walsh, "Always valid inference: Bringing sequential analysis to A/B
testing", arXiv:1512.04922, 2015/2017). The two-sample normal-mixture form follows their
section 4 (the statistic behind Optimizely's Stats Engine).

For the difference of means ``theta = mean(treatment) - mean(control)`` with estimate
``d`` and variance ``V = s_c^2 / n_c + s_t^2 / n_t``, a normal mixture ``theta ~ N(0,
tau^2)`` over the alternatives gives the likelihood ratio against ``theta = theta0``::

    Lambda(theta0) = sqrt(V / (V + tau^2)) * exp(tau^2 (d - theta0)^2 / (2 V (V + tau^2)))

``Lambda(0)`` is a non-negative martingale under the null (asymptotically, with the
variance plugged in), so by Ville's inequality ``P(sup_n Lambda_n >= 1/alpha) <= alpha``:
the running ``p_n = min_{k<=n} 1/Lambda_k`` is a p-value valid at any stopping time, and
the set ``{theta0 : Lambda(theta0) < 1/alpha}``, intersected over looks, is a confidence
sequence. Looking after every batch, or every request, keeps the error rate at or below
``alpha``, which the fixed-horizon z-test does not.

The mixture scale is set on the standardised effect (``tau = effect_scale * sigma``,
``sigma`` the pooled per-unit standard deviation), so one default fits rates and means.
By default it is tuned so the boundary is sharpest at ``tune_n`` units per arm (Howard,
Ramdas, McAuliffe & Sekhon, "Time-uniform, nonparametric, nonasymptotic confidence
sequences", Annals of Statistics 49(2), 2021, eq. (3.12)'s choice of the mixture width).

The array functions broadcast over numpy arrays, so thousands of simulated experiments
run at once (see tests/deploy/test_sequential.py).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from loopml.deploy._stats import ArmSummary

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


class Decision(enum.StrEnum):
    """What the test says so far."""

    CONTINUE = "continue"
    TREATMENT_BETTER = "treatment_better"
    CONTROL_BETTER = "control_better"
    NO_DIFFERENCE = "no_difference"


def tuned_effect_scale(tune_n: int, alpha: float) -> float:
    """The standardised mixture width whose boundary is tightest at ``tune_n`` per arm.

    With ``r = tau^2 / V`` the boundary on ``z^2`` is ``(1 + r) / r * (2 log(1/alpha) +
    log(1 + r))``, minimised near ``r = 2 log(1/alpha) + log(1 + 2 log(1/alpha))``
    (Howard et al. 2021). At ``tune_n`` units per arm ``V / sigma^2 = 2 / tune_n``.
    """
    ratio = 2 * math.log(1 / alpha) + math.log(1 + 2 * math.log(1 / alpha))
    return math.sqrt(ratio * 2 / tune_n)


def mixture_log_lr(
    diff: FloatArray | float, var: FloatArray | float, tau2: FloatArray | float
) -> FloatArray:
    """log Lambda for an observed difference ``diff`` (minus the null value), its variance
    ``var`` and the mixture variance ``tau2``; broadcasts."""
    v = np.maximum(np.asarray(var, dtype=float), 1e-300)
    t = np.asarray(tau2, dtype=float)
    d = np.asarray(diff, dtype=float)
    return np.asarray(0.5 * np.log(v / (v + t)) + t * d * d / (2 * v * (v + t)))


def half_width(var: FloatArray | float, tau2: FloatArray | float, alpha: float) -> FloatArray:
    """Half-width of the always-valid interval ``{theta0 : Lambda(theta0) < 1/alpha}``."""
    v = np.maximum(np.asarray(var, dtype=float), 1e-300)
    t = np.asarray(tau2, dtype=float)
    return np.asarray(np.sqrt(v * (v + t) / t * (2 * math.log(1 / alpha) + np.log((v + t) / v))))


def moments(
    n_c: FloatArray, mean_c: FloatArray, var_c: FloatArray,
    n_t: FloatArray, mean_t: FloatArray, var_t: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:  # fmt: skip
    """Difference, its variance and the pooled per-unit variance of two arms; broadcasts."""
    diff = mean_t - mean_c
    var = var_c / n_c + var_t / n_t
    pooled = (n_c * var_c + n_t * var_t) / (n_c + n_t)
    return diff, var, pooled


@dataclass(frozen=True)
class SequentialResult:
    """The state of a sequential test after one look.

    Attributes:
        decision: What to do (continue, or which arm won, or no practical difference).
        estimate: Observed difference, treatment minus control.
        lower: Lower end of the always-valid confidence interval.
        upper: Upper end.
        p_value: The always-valid p-value (running minimum over looks).
        n_control: Units of the control arm.
        n_treatment: Units of the treatment arm.
        reason: One line for people.
        looks: How many looks the running values cover.
    """

    decision: Decision
    estimate: float
    lower: float
    upper: float
    p_value: float
    n_control: int
    n_treatment: int
    reason: str
    looks: int = 1

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (infinite ends become None)."""

        def finite(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "decision": self.decision.value,
            "estimate": self.estimate,
            "lower": finite(self.lower),
            "upper": finite(self.upper),
            "p_value": self.p_value,
            "n_control": self.n_control,
            "n_treatment": self.n_treatment,
            "reason": self.reason,
            "looks": self.looks,
        }


@dataclass(frozen=True)
class SequentialTest:
    """The mixture SPRT on the difference of two arms' means (rates for 0/1 outcomes).

    Args:
        alpha: Error rate kept however often the test is looked at.
        min_sample: Units each arm needs before any decision (the plug-in variance needs
            a few hundred to settle; looks before it only carry the running values).
        practical: Half-width of the band of differences too small to matter; an interval
            inside ``(-practical, practical)`` decides ``no_difference``. 0: never.
        higher_is_better: Whether a larger mean is the better outcome (False for error or
            churn rates).
        effect_scale: Mixture width on the standardised effect; None: tuned for ``tune_n``.
        tune_n: Units per arm where the boundary is sharpest (when ``effect_scale`` is None).

    Example:
        >>> test = SequentialTest(alpha=0.05, min_sample=100)
        >>> r = test.evaluate(ArmSummary.from_binary(2000, 200), ArmSummary.from_binary(2000, 300))
        >>> r.decision.value
        'treatment_better'
    """

    alpha: float = 0.05
    min_sample: int = 200
    practical: float = 0.0
    higher_is_better: bool = True
    effect_scale: float | None = None
    tune_n: int = 5000
    _scale: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise InvalidInput(f"sequential test: alpha must lie in (0, 1), got {self.alpha}")
        if self.min_sample < 2 or self.tune_n < 2:
            raise InvalidInput(
                "sequential test: min_sample and tune_n must be at least 2, "
                f"got {self.min_sample} and {self.tune_n}"
            )
        if self.practical < 0 or not math.isfinite(self.practical):
            raise InvalidInput(f"sequential test: practical must be >= 0, got {self.practical}")
        scale = self.effect_scale
        if scale is None:
            scale = tuned_effect_scale(self.tune_n, self.alpha)
        elif not (scale > 0 and math.isfinite(scale)):
            raise InvalidInput(f"sequential test: effect_scale must be > 0, got {scale}")
        object.__setattr__(self, "_scale", scale)

    @property
    def scale(self) -> float:
        """The standardised mixture width in use."""
        return self._scale

    def statistics(
        self, n_c: Any, mean_c: Any, var_c: Any, n_t: Any, mean_t: Any, var_t: Any
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Vectorised look: estimate, interval ends and the (per-look) p-value ``1/Lambda``.

        Arguments broadcast; the running minimum/intersection over looks is the caller's.
        """
        arrays = [np.asarray(x, dtype=float) for x in (n_c, mean_c, var_c, n_t, mean_t, var_t)]
        diff, var, pooled = moments(*arrays)
        tau2 = self._scale**2 * np.maximum(pooled, 1e-300)
        p = np.minimum(1.0, np.exp(-mixture_log_lr(diff, var, tau2)))
        h = half_width(var, tau2, self.alpha)
        return diff, diff - h, diff + h, p

    def evaluate(
        self,
        control: ArmSummary,
        treatment: ArmSummary,
        previous: SequentialResult | None = None,
    ) -> SequentialResult:
        """One look at cumulative per-arm summaries.

        Args:
            control: The control (stable) arm so far.
            treatment: The treatment (candidate) arm so far.
            previous: The result of the last look, whose running p-value and interval
                this one continues (None: the first look).

        Returns:
            The decision with the estimate, the always-valid interval and p-value.
        """
        n_min = min(control.n, treatment.n)
        if min(control.n, treatment.n) < 2:
            lo, hi, p, est = -math.inf, math.inf, 1.0, treatment.mean - control.mean
        else:
            d, l_, u, p_ = self.statistics(
                control.n, control.mean, control.variance,
                treatment.n, treatment.mean, treatment.variance,
            )  # fmt: skip
            est, lo, hi, p = float(d), float(l_), float(u), float(p_)
        looks = 1
        if previous is not None:
            p = min(p, previous.p_value)
            lo, hi = max(lo, previous.lower), min(hi, previous.upper)
            looks = previous.looks + 1
            if lo > hi:
                # Disjoint intervals happen only when the effect drifts (the model of a
                # fixed difference is wrong); keep the sequence nested at the point of
                # the last interval closest to the new estimate.
                lo = hi = min(max(est, previous.lower), previous.upper)
        decision, reason = self._decide(est, lo, hi, p, n_min)
        return SequentialResult(decision, est, lo, hi, p, control.n, treatment.n, reason, looks)

    def _decide(
        self, est: float, lo: float, hi: float, p: float, n_min: int
    ) -> tuple[Decision, str]:
        interval = f"difference {est:+.4g} in [{lo:+.4g}, {hi:+.4g}], p={p:.3g}"
        if n_min < self.min_sample:
            return Decision.CONTINUE, (
                f"minimum sample not reached ({n_min} < {self.min_sample} per arm); {interval}"
            )
        if self.practical > 0 and -self.practical < lo and hi < self.practical:
            return Decision.NO_DIFFERENCE, (
                f"interval inside the practical band +-{self.practical:g}; {interval}"
            )
        if lo > 0 or hi < 0:
            treatment_higher = lo > 0
            if treatment_higher == self.higher_is_better:
                return (
                    Decision.TREATMENT_BETTER,
                    f"treatment better at alpha={self.alpha}; {interval}",
                )
            return Decision.CONTROL_BETTER, f"control better at alpha={self.alpha}; {interval}"
        return Decision.CONTINUE, f"no decision yet; {interval}"


def naive_z_pvalues(diff: FloatArray, var: FloatArray) -> FloatArray:
    """Two-sided fixed-horizon z-test p-values (valid for ONE look only; for comparison)."""
    from scipy import special

    z = np.abs(diff) / np.sqrt(np.maximum(var, 1e-300))
    return np.asarray(special.erfc(z / math.sqrt(2)))
