"""Multivariate drift: a domain classifier told to separate reference rows from window rows.

If no classifier can tell the two apart, its out-of-fold AUC is 0.5 up to the sampling
noise of a Mann–Whitney statistic, whose null variance at sizes ``n1, n2`` is
``(n1 + n2 + 1) / (12 n1 n2)``; the p-value and the noise threshold come from that null, so
the verdict is calibrated to the sample size like the per-feature tests. It catches what
the per-feature tests cannot: a change in how features move together (a correlation that
flips) with every marginal unchanged. The effect size is the AUC; practically significant
from 0.55 on.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from loopml.monitoring._columns import Raw
from loopml.monitoring._performance import auc

if TYPE_CHECKING:
    import pyarrow as pa

MAX_ROWS = 5_000
MIN_EFFECT = 0.55


def _matrix(ref: pa.Table, cur: pa.Table, columns: list[str]) -> tuple[np.ndarray[Any, Any], int]:
    import pyarrow as pa

    blocks = []
    for name in columns:
        a, b = ref.column(name), cur.column(name)
        if pa.types.is_floating(a.type) or pa.types.is_integer(a.type):
            both = np.concatenate(
                [
                    a.to_numpy(zero_copy_only=False).astype(float),
                    b.to_numpy(zero_copy_only=False).astype(float),
                ]
            )
            missing = np.isnan(both)
            fill = float(np.nanmedian(both)) if (~missing).any() else 0.0
            blocks.append(np.where(missing, fill, both)[:, None])
            blocks.append(missing.astype(float)[:, None])
        else:
            values = np.concatenate(
                [np.asarray(a.to_pylist(), dtype=object), np.asarray(b.to_pylist(), dtype=object)]
            )
            keys, counts = np.unique(values.astype(str), return_counts=True)
            top = keys[np.argsort(-counts)[:20]]
            blocks.append((values.astype(str)[:, None] == top[None, :]).astype(float))
    return np.hstack(blocks) if blocks else np.zeros((ref.num_rows + cur.num_rows, 0)), ref.num_rows


def domain_classifier(
    reference: pa.Table,
    current: pa.Table,
    columns: list[str],
    *,
    alpha: float,
    seed: int = 0,
) -> Raw:
    """Out-of-fold AUC of a gradient-boosted classifier separating the two samples."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rng = np.random.default_rng(seed)

    def sample(table: pa.Table) -> pa.Table:
        if table.num_rows <= MAX_ROWS:
            return table
        return table.take(np.sort(rng.choice(table.num_rows, MAX_ROWS, replace=False)))

    ref, cur = sample(reference), sample(current)
    x, n1 = _matrix(ref, cur, columns)
    n2 = cur.num_rows
    y = np.concatenate([np.zeros(n1), np.ones(n2)])
    model = HistGradientBoostingClassifier(max_iter=60, learning_rate=0.1, random_state=seed)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    scores = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    value = auc(y, scores)
    sd = math.sqrt((n1 + n2 + 1) / (12 * n1 * n2))
    p = float(stats.norm.sf((value - 0.5) / sd))
    threshold = 0.5 + float(stats.norm.isf(alpha)) * sd
    # Hanley–McNeil standard error of an AUC
    q1, q2 = value / (2 - value), 2 * value * value / (1 + value)
    var = (value * (1 - value) + (n2 - 1) * (q1 - value**2) + (n1 - 1) * (q2 - value**2)) / (
        n1 * n2
    )
    half = 1.96 * math.sqrt(max(var, 0.0))
    return Raw("domain_classifier", value, value, (value - half, value + half), p, threshold)
