"""Column profiles of a table: the versioned JSON structure stored with every version.

Format ``loopml.profile/1`` (documented in docs/data.md): per column its Arrow type, a
``kind`` (numeric, categorical, boolean, timestamp, other), count, nulls and distinct; for
numbers and times min/max/mean/std, 101 quantiles (0.00, 0.01 ... 1.00: a quantile
sketch a drift test can bin a new window against), a 20-bin histogram and a finer exact
CDF (``cdf``: up to 512 knot values with the exact count of values at or below each, the
whole distribution when there are fewer distinct values); for categories the top 20
values with counts and the count of all others, and ``frequencies`` (up to 1,000 most
frequent values with counts); for strings their lengths. ``cdf`` and ``frequencies`` were
added later: readers treat them as optional, so older profiles still load.
Everything is computed column-wise with Arrow compute and numpy (one sort per numeric
column gives quantiles, histogram and an exact distinct count); no per-row Python.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FORMAT = "loopml.profile/1"
PROBS = [round(i / 100, 2) for i in range(101)]
BINS = 20
TOP_K = 20
CDF_KNOTS = 512
FREQUENCIES = 1000


def kind_of(dtype: pa.DataType) -> str:
    """Classify an Arrow type as numeric, boolean, timestamp, categorical or other."""
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "numeric"
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        return "timestamp"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "categorical"
    if pa.types.is_dictionary(dtype):
        return "categorical"
    return "other"


def _clean(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else float(value)


def _numbers(sorted_values: np.ndarray[Any, Any]) -> dict[str, Any]:
    n = sorted_values.size
    if n == 0:
        return {"min": None, "max": None, "mean": None, "std": None}
    low, high = float(sorted_values[0]), float(sorted_values[-1])
    positions = np.clip(np.round(np.array(PROBS) * (n - 1)).astype(np.int64), 0, n - 1)
    edges = np.linspace(low, high, BINS + 1) if high > low else np.array([low, high])
    cuts = np.searchsorted(sorted_values, edges[1:-1], side="left")
    counts = np.diff(np.concatenate(([0], cuts, [n]))).tolist()
    return {
        "min": low,
        "max": high,
        "mean": _clean(float(sorted_values.mean())),
        "std": _clean(float(sorted_values.std())),
        "quantiles": {"probs": PROBS, "values": sorted_values[positions].tolist()},
        "histogram": {"edges": edges.tolist(), "counts": [int(c) for c in counts]},
        "cdf": _cdf(sorted_values),
    }


def _cdf(sorted_values: np.ndarray[Any, Any]) -> dict[str, Any]:
    """Knot values at evenly spaced ranks, each with the exact count of values <= it."""
    n = sorted_values.size
    ranks = np.unique(np.round(np.linspace(0, n - 1, CDF_KNOTS)).astype(np.int64))
    knots = np.unique(sorted_values[ranks])
    at_or_below = np.searchsorted(sorted_values, knots, side="right")
    return {"values": knots.tolist(), "counts": at_or_below.astype(np.int64).tolist()}


def _numeric(column: pa.ChunkedArray) -> dict[str, Any]:
    values = column.drop_null()
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        values = values.cast(pa.int64()) if pa.types.is_timestamp(column.type) else values
    if pa.types.is_date(column.type):
        values = values.cast(pa.date32()).cast(pa.int32())
    array = values.to_numpy().astype(np.float64, copy=False)
    nan = np.isnan(array)
    nans = int(nan.sum())
    if nans:
        array = array[~nan]
    ordered = np.sort(array)
    distinct = int(np.count_nonzero(np.diff(ordered))) + 1 if ordered.size else 0
    out = _numbers(ordered)
    out.update({"distinct": distinct, "nan": nans})
    if ordered.size:
        out["zeros"] = int(ordered.size - np.count_nonzero(ordered))
    return out


def _categorical(column: pa.ChunkedArray) -> dict[str, Any]:
    values = column.drop_null()
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    counts = pc.value_counts(values).flatten()
    if len(counts[0]):
        order = pc.array_sort_indices(counts[1], order="descending")
        top_values = pc.take(counts[0], order[:TOP_K]).to_pylist()
        top_counts = pc.take(counts[1], order[:TOP_K]).to_pylist()
    else:
        top_values, top_counts = [], []
    out: dict[str, Any] = {
        "distinct": len(counts[0]),
        "top": [{"value": v, "count": int(c)} for v, c in zip(top_values, top_counts, strict=True)],
        "other": int(len(values) - sum(top_counts)),
    }
    if len(counts[0]):
        more = order[:FREQUENCIES]
        out["frequencies"] = {
            "values": pc.take(counts[0], more).to_pylist(),
            "counts": [int(c) for c in pc.take(counts[1], more).to_pylist()],
        }
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        lengths = pc.utf8_length(values)
        stats = pc.min_max(lengths)
        mean = pc.mean(lengths).as_py()
        out["lengths"] = {
            "min": stats["min"].as_py(),
            "max": stats["max"].as_py(),
            "mean": None if mean is None else float(mean),
        }
    return out


def profile_column(column: pa.ChunkedArray) -> dict[str, Any]:
    """Profile one column (see the module docstring for the fields)."""
    kind = kind_of(column.type)
    nulls = column.null_count
    out: dict[str, Any] = {
        "type": str(column.type),
        "kind": kind,
        "count": len(column) - nulls,
        "nulls": nulls,
    }
    if kind == "numeric":
        out.update(_numeric(column))
    elif kind == "timestamp":
        out.update(_numeric(column))
        stats = pc.min_max(column)
        out["first"] = None if stats["min"].as_py() is None else str(stats["min"].as_py())
        out["last"] = None if stats["max"].as_py() is None else str(stats["max"].as_py())
    elif kind in ("categorical", "boolean"):
        out.update(_categorical(column))
    else:
        out["distinct"] = None
    return out


def profile_table(table: pa.Table, *, workers: int = 2) -> dict[str, Any]:
    """Profile every column of ``table`` (columns in parallel; numpy releases the GIL).

    Returns:
        The ``loopml.profile/1`` structure: ``{"format", "rows", "columns": {name: {...}}}``.
    """
    names = table.column_names
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(profile_column, [table.column(i) for i in range(len(names))]))
    return {
        "format": FORMAT,
        "rows": table.num_rows,
        "columns": dict(zip(names, results, strict=True)),
    }
