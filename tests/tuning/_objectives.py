"""Objectives importable by worker processes (spawned or Dask)."""

from __future__ import annotations

import optuna

from loopml.tuning import Trial


def quadratic(trial: Trial) -> float:
    """Peak 1.0 at x=2, kind='b'; reports intermediate values so pruners can act."""
    x = trial.params["x"]
    bonus = 0.5 if trial.params["kind"] == "b" else 0.0
    for step in range(3):
        trial.report(-((x - 2) ** 2) * (3 - step) / 3 + bonus, step)
        if trial.should_prune():
            raise optuna.TrialPruned
    trial.run.log_metric("x_seen", x)
    return -((x - 2) ** 2) + bonus


def flaky(trial: Trial) -> float:
    """Fails for negative x."""
    if trial.params["x"] < 0:
        raise RuntimeError("negative x")
    return float(trial.params["x"])


SPACE = {"x": {"type": "float", "low": -5, "high": 5}, "kind": ["a", "b"]}
