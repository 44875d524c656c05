"""Hyperparameter tuning (Optuna) and cross-validation, recorded as runs.

``tune`` searches a space with Optuna: every trial is a child run with its params and
metrics, the best trial is tagged on the parent run, and trials run in this process, in
local worker processes, or on a Dask cluster. ``cross_validate`` logs per-fold and
mean/std scores.
"""

from loopml.tuning._cv import CVResult, cross_validate
from loopml.tuning._space import to_distributions
from loopml.tuning._trial import Trial
from loopml.tuning._tune import TrialResult, TuneResult, tune

__all__ = [
    "CVResult",
    "Trial",
    "TrialResult",
    "TuneResult",
    "cross_validate",
    "to_distributions",
    "tune",
]
