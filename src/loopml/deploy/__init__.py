"""Deployments and rollouts: canary with automated analysis, shadow, A/B with anytime-valid
statistics, blue-green and rollback.

The statistics are pure functions: :class:`SequentialTest` (a mixture sequential
probability ratio test, Johari, Pekelis & Walsh's "always valid inference", whose error
rate holds however often it is looked at), :func:`srm_check` (a sample-ratio-mismatch
check of the split) and :class:`Judge` (a Mann-Whitney comparison of a canary metric with
the stable arm, with a practical-significance band and absolute bounds).
"""

from loopml.deploy._judge import Judge, JudgeResult, Outcome, hodges_lehmann
from loopml.deploy._sequential import (
    Decision,
    SequentialResult,
    SequentialTest,
    naive_z_pvalues,
    tuned_effect_scale,
)
from loopml.deploy._stats import SRM_ALPHA, ArmSummary, SrmResult, srm_check

__all__ = [
    "SRM_ALPHA",
    "ArmSummary",
    "Decision",
    "Judge",
    "JudgeResult",
    "Outcome",
    "SequentialResult",
    "SequentialTest",
    "SrmResult",
    "hodges_lehmann",
    "naive_z_pvalues",
    "srm_check",
    "tuned_effect_scale",
]
