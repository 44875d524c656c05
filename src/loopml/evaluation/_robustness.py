"""Robustness: the metric drop under noise, category swaps and missing values, and
user-written invariance and directional tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

Scorer = Callable[["pd.DataFrame"], float]
Predictor = Callable[["pd.DataFrame"], np.ndarray]

PERTURBATIONS = ("gaussian_noise", "category_swap", "missing_values")


@dataclass(frozen=True)
class InvarianceTest:
    """Predictions must not change (beyond ``max_changed`` of rows) when ``transform``
    is applied to ``column`` (e.g. changing a name or an id).

    Args:
        name: Shown in reports.
        column: The column to change.
        transform: Maps the column (a Series) to its changed version.
        max_changed: Largest fraction of rows whose prediction may change.
    """

    name: str
    column: str
    transform: Callable[[Any], Any]
    max_changed: float = 0.01


@dataclass(frozen=True)
class DirectionalTest:
    """Scores must move in the ``expect``-ed direction (``"increase"``/``"decrease"``) for
    at least ``min_fraction`` of rows when ``transform`` is applied to ``column``.

    Args:
        name: Shown in reports.
        column: The column to change.
        transform: Maps the column (a Series) to its changed version.
        expect: ``"increase"`` or ``"decrease"`` (ties count as not opposite).
        min_fraction: Fraction of rows that must not move the other way.
    """

    name: str
    column: str
    transform: Callable[[Any], Any]
    expect: str = "increase"
    min_fraction: float = 0.95


def perturb(
    frame: pd.DataFrame, kind: str, rng: np.random.Generator, *, level: float
) -> pd.DataFrame:
    """A copy of ``frame`` with one kind of perturbation applied."""
    out = frame.copy()
    numeric = [c for c in out.columns if out[c].dtype.kind in "iuf"]
    categorical = [c for c in out.columns if out[c].dtype.kind not in "iufbM"]
    n = len(out)
    if kind == "gaussian_noise":
        for column in numeric:
            std = float(out[column].std()) or 1.0
            noisy = out[column].to_numpy(dtype=float) + rng.normal(0.0, level * std, n)
            out[column] = (
                noisy.astype(out[column].dtype) if out[column].dtype.kind in "iu" else noisy
            )
    elif kind == "category_swap":
        for column in categorical:
            values = out[column].dropna().unique()
            if len(values) < 2:
                continue
            rows = rng.random(n) < level
            out.loc[rows, column] = rng.choice(values, int(rows.sum()))
    elif kind == "missing_values":
        for column in numeric:
            rows = rng.random(n) < level
            out[column] = out[column].astype(float).mask(rows)
    return out


def robustness(
    frame: pd.DataFrame,
    score: Scorer,
    base: float,
    *,
    lower_is_better: bool,
    seed: int = 0,
    level: float = 0.1,
) -> dict[str, dict[str, Any]]:
    """Metric drop (positive = worse) under each perturbation; an error counts as a failure."""
    out: dict[str, dict[str, Any]] = {}
    for kind in PERTURBATIONS:
        rng = np.random.default_rng(seed)
        try:
            value = score(perturb(frame, kind, rng, level=level))
        except Exception as exc:  # the model may refuse NaN or unseen categories
            out[kind] = {"metric": None, "drop": None, "error": f"{type(exc).__name__}: {exc}"}
            continue
        drop = (value - base) if lower_is_better else (base - value)
        out[kind] = {"metric": value, "drop": drop, "error": None}
    return out


def behaviour_tests(
    frame: pd.DataFrame,
    predict: Predictor,
    scores: Predictor | None,
    tests: list[InvarianceTest | DirectionalTest],
) -> list[dict[str, Any]]:
    """Run invariance and directional tests; each result says passed and the measure."""
    results = []
    base_pred = predict(frame) if tests else None
    base_score = scores(frame) if (scores is not None and tests) else base_pred
    for test in tests:
        changed = frame.copy()
        changed[test.column] = test.transform(changed[test.column])
        if isinstance(test, InvarianceTest):
            moved = float(np.mean(predict(changed) != base_pred))
            results.append(
                {
                    "name": test.name,
                    "kind": "invariance",
                    "measured": moved,
                    "bound": test.max_changed,
                    "passed": moved <= test.max_changed,
                }
            )
        else:
            after = scores(changed) if scores is not None else predict(changed)
            delta = np.asarray(after, dtype=float) - np.asarray(base_score, dtype=float)
            ok = delta >= -1e-12 if test.expect == "increase" else delta <= 1e-12
            fraction = float(np.mean(ok))
            results.append(
                {
                    "name": test.name,
                    "kind": "directional",
                    "measured": fraction,
                    "bound": test.min_fraction,
                    "passed": fraction >= test.min_fraction,
                }
            )
    return results
