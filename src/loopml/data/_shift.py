"""Distribution shift of a column against a stored reference profile (no reference data).

Numbers: the population stability index (PSI) over ten bins whose edges are the
reference's deciles, read from its quantile sketch; the reference share of each bin comes
from interpolating the sketch, the current share from one sort of the new values.
Categories: PSI over the reference's top-k values plus one "other" bucket.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_EPS = 1e-4


def psi_shares(
    expected: np.ndarray[Any, Any], actual: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Population stability index along the last axis of share arrays (rows sum to 1);
    shares are clipped at 1e-4 so an empty bin counts as a large but finite change."""
    e = np.clip(expected, _EPS, None)
    a = np.clip(actual, _EPS, None)
    out: np.ndarray[Any, Any] = np.sum((a - e) * np.log(a / e), axis=-1)
    return out


def psi(expected: np.ndarray[Any, Any], actual: np.ndarray[Any, Any]) -> float:
    """Population stability index of two share vectors (each sums to 1)."""
    return float(psi_shares(expected, actual))


def numeric_psi(reference: dict[str, Any], column: pa.ChunkedArray) -> float | None:
    """PSI of a numeric or time column against its reference profile entry."""
    sketch = reference.get("quantiles")
    if not sketch:
        return None
    probs = np.asarray(sketch["probs"], dtype=np.float64)
    values = np.asarray(sketch["values"], dtype=np.float64)
    edges = np.unique(np.interp(np.linspace(0.1, 0.9, 9), probs, values))
    cdf = np.interp(edges, values, probs)
    ref_share = np.diff(np.concatenate(([0.0], cdf, [1.0])))
    current = column.drop_null()
    if pa.types.is_timestamp(current.type):
        current = current.cast(pa.int64())
    array = current.to_numpy().astype(np.float64, copy=False)
    array = np.sort(array[~np.isnan(array)])
    if array.size == 0:
        return None
    cuts = np.searchsorted(array, edges, side="right")
    cur_share = np.diff(np.concatenate(([0], cuts, [array.size]))) / array.size
    return psi(ref_share, cur_share)


def categorical_psi(reference: dict[str, Any], column: pa.ChunkedArray) -> float | None:
    """PSI of a categorical column over the reference's top values plus "other"."""
    top = reference.get("top")
    total = reference.get("count") or 0
    if not top or not total:
        return None
    keys = [t["value"] for t in top]
    ref_share = np.array([t["count"] for t in top] + [reference.get("other", 0)], dtype=float)
    ref_share /= total
    values = column.drop_null()
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if len(values) == 0:
        return None
    counts = pc.value_counts(values).flatten()
    found = dict(zip(counts[0].to_pylist(), counts[1].to_pylist(), strict=True))
    cur = np.array([found.get(k, 0) for k in keys], dtype=float)
    cur_share = np.concatenate((cur, [len(values) - cur.sum()])) / len(values)
    return psi(ref_share, cur_share)


def column_psi(reference: dict[str, Any], column: pa.ChunkedArray) -> float | None:
    """PSI for any profiled column kind, or None when it cannot be computed."""
    kind = reference.get("kind")
    if kind in ("numeric", "timestamp"):
        return numeric_psi(reference, column)
    if kind in ("categorical", "boolean"):
        return categorical_psi(reference, column)
    return None
