"""Schema inference whose rules the next batch from the same source can pass.

Observed extremes are a poor rule: the next day's ids and times lie beyond them, and a
heavy-tailed amount exceeds its past maximum about half the time. So:

- **Identifier-like** columns (named ``id``, ``*_id``, ``*Id``, ``*_key``, ``*_uuid``, or
  integer/string columns whose values are at least 95 % distinct over 20 rows or more)
  get no range and no closed category set; a unique one stays ``unique``.
- **Monotonic** numeric columns (at least 8 values, 3 distinct, never decreasing in row
  order: sequence numbers, running totals) get no ``max`` (never increasing: no ``min``).
  Timestamps and dates get no range at all.
- **Other numeric bounds** are widened by half the observed spread on each side: on a
  ``log(1 + |x|)`` scale for columns of one sign (money, counts, distances), whose bound
  at zero's side never crosses zero, and linearly for columns of both signs.
- **Categories** are closed (``allowed``) for strings with at most 50 distinct values,
  fewer than half the rows, and no value seen only once (a singleton predicts unseen ones).

Every rule written is listed in the column's ``inferred``.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopml.data._schema import ColumnSpec, Rule, Schema, type_name

MAX_CATEGORIES: Final = 50
WIDEN: Final = 0.5
ID_DISTINCT_SHARE: Final = 0.95
ID_MIN_ROWS: Final = 20
MONOTONIC_MIN_ROWS: Final = 8
_ID_NAME = re.compile(r"(?:^|[_\-. ])(?:id|uuid|guid|key)$", re.IGNORECASE)
_CAMEL_ID = re.compile(r"[a-z0-9](?:Id|ID|Uuid|UUID|Key)$")

#: Candidate patterns tried, in order, when inferring a string column's ``pattern``.
PATTERNS = [
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
    r"^\d{4}-\d{2}-\d{2}$",
    r"^\d+$",
    r"^[0-9a-f]+$",
    r"^[A-Z]{2,}$",
    r"^[A-Z]+-\d+$",
    r"^[A-Za-z0-9_-]+$",
]


def is_identifier(name: str, kind: str, count: int, distinct: int | None) -> bool:
    """True for a column that names things rather than measures them (see the module)."""
    if _ID_NAME.search(name) or _CAMEL_ID.search(name):
        return True
    return (
        kind in ("integer", "string")
        and distinct is not None
        and count >= ID_MIN_ROWS
        and distinct >= ID_DISTINCT_SHARE * count
    )


def monotonic(column: pa.ChunkedArray) -> Literal["increasing", "decreasing"] | None:
    """The direction a numeric column never leaves in row order, if it has one."""
    values = column.drop_null().to_numpy().astype(np.float64, copy=False)
    values = values[~np.isnan(values)]
    if values.size < MONOTONIC_MIN_ROWS:
        return None
    steps = np.diff(values)
    if np.count_nonzero(steps) < 2:  # fewer than 3 distinct values
        return None
    if bool((steps >= 0).all()):
        return "increasing"
    if bool((steps <= 0).all()):
        return "decreasing"
    return None


def _round_out(value: float, up: bool) -> float:
    """``value`` rounded away from the data to three significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    digits = 2 - math.floor(math.log10(abs(value)))
    step = 10.0**-digits
    grid = math.ceil(value / step) if up else math.floor(value / step)
    return round(grid * step, max(digits, 0))


def widen(low: float, high: float) -> tuple[float | None, float | None]:
    """Bounds for future values of a column observed in ``[low, high]`` (see the module).

    A constant column keeps its value; a bound too large for a float is dropped (None).
    """
    if high <= low:
        return low, high
    try:
        if low >= 0 or high <= 0:
            sign = 1.0 if low >= 0 else -1.0
            near, far = sorted((math.log1p(abs(low)), math.log1p(abs(high))))
            margin = WIDEN * (far - near)
            inner = sign * math.expm1(max(near - margin, 0.0))
            outer = sign * math.expm1(far + margin)
            return (inner, outer) if sign > 0 else (outer, inner + 0.0)  # no -0.0
        margin = WIDEN * (high - low)
        return low - margin, high + margin
    except OverflowError:
        return (low, None) if low >= 0 else (None, high) if high <= 0 else (None, None)


def _range(spec: ColumnSpec, stats: dict[str, Any], column: pa.ChunkedArray) -> None:
    low, high = widen(float(stats["min"]), float(stats["max"]))
    integer = spec.type == "integer"
    direction = monotonic(column)
    if direction == "increasing":
        high = None
    elif direction == "decreasing":
        low = None
    if low is not None:
        low = _round_out(low, up=False)
        spec.min = math.ceil(low) if integer else low
    if high is not None:
        high = _round_out(high, up=True)
        spec.max = math.floor(high) if integer else high


def _pattern(values: pa.ChunkedArray) -> str | None:
    sample = values.drop_null()
    if len(sample) == 0:
        return None
    for pattern in PATTERNS:
        if pc.all(pc.match_substring_regex(sample, pattern)).as_py():
            return pattern
    return None


def _categories(column: pa.ChunkedArray) -> list[Any] | None:
    """The sorted values of a string column when its set looks closed, else None."""
    counts = pc.value_counts(column.drop_null()).flatten()
    if len(counts[0]) == 0 or pc.min(counts[1]).as_py() < 2:
        return None
    return sorted(counts[0].to_pylist())


def infer_schema(table: pa.Table, profile: dict[str, Any]) -> Schema:
    """Infer a schema from a table and its profile, with rules that generalise.

    See the module docstring for the rules; every rule written is named in the column's
    ``inferred`` list, so reports can say which rules came from the data.
    """
    columns: dict[str, ColumnSpec] = {}
    for name in table.column_names:
        stats = profile["columns"][name]
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        spec = ColumnSpec(type=type_name(column.type), nullable=stats["nulls"] > 0)
        count, distinct = stats["count"] - stats["nulls"], stats.get("distinct")
        ident = is_identifier(name, spec.type, count, distinct)
        if spec.type in ("integer", "float") and stats.get("min") is not None and not ident:
            _range(spec, stats, column)
        if spec.type == "string" and distinct is not None:
            if not ident and distinct <= MAX_CATEGORIES and distinct * 2 <= count:
                spec.allowed = _categories(column)
            if spec.allowed is None:
                spec.pattern = _pattern(column)
        if spec.type in ("integer", "string") and not spec.nullable and count > 1:
            spec.unique = distinct == count
        rules: list[Rule] = ["type", "nullable", "min", "max", "allowed", "unique", "pattern"]
        defaults = ColumnSpec(type=spec.type)
        spec.inferred = [
            r for r in rules if r == "type" or getattr(spec, r) != getattr(defaults, r)
        ]
        columns[name] = spec
    return Schema(columns=columns)
