"""Mergeable window sketches: what the drift tests need from a window, and nothing else.

Per numeric column the counts on the reference's bins (its profile's exact-count knots),
the sum and count of the values beyond the reference's range on either side (the
Wasserstein tails) and the missing count; per categorical column the count of each
category and the missing count. Two sketches of the same columns against the same
reference add up to the sketch of both windows, so a window is the sum of the sketches of
its buckets, each computed once from one segment of the prediction log and cached.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from loopml.monitoring import _columns as cols
from loopml.monitoring import _numeric as num

if TYPE_CHECKING:
    import pyarrow as pa

    from loopml.monitoring._report import DriftReport
    from loopml.monitoring._spec import MonitorSpec


@dataclass
class ColumnSketch:
    """One column of a window, reduced to mergeable counts."""

    kind: str
    rows: int = 0
    missing: int = 0
    counts: list[float] = field(default_factory=list)
    categories: dict[Any, int] = field(default_factory=dict)
    below_sum: float = 0.0
    below_n: int = 0
    above_sum: float = 0.0
    above_n: int = 0
    source: str = ""  # the log column it came from (``out.*``: a model output)

    def merge(self, other: ColumnSketch) -> ColumnSketch:
        """The sketch of both windows (a new object)."""
        counts = (
            (np.asarray(self.counts) + np.asarray(other.counts)).tolist()
            if self.counts and other.counts
            else list(self.counts or other.counts)
        )
        cats = dict(self.categories)
        for key, value in other.categories.items():
            cats[key] = cats.get(key, 0) + value
        return ColumnSketch(
            self.kind,
            self.rows + other.rows,
            self.missing + other.missing,
            counts,
            cats,
            self.below_sum + other.below_sum,
            self.below_n + other.below_n,
            self.above_sum + other.above_sum,
            self.above_n + other.above_n,
            self.source or other.source,
        )


def profile_key(profile: dict[str, Any]) -> str:
    """A short digest of a reference profile (sketches are only valid against it)."""
    text = json.dumps(profile.get("columns") or {}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _kind(entry: dict[str, Any]) -> str | None:
    kind = entry.get("kind")
    if kind == "numeric":
        return "numeric"
    if kind in ("categorical", "boolean"):
        return "categorical"
    return None


def sketch_column(entry: dict[str, Any], column: pa.ChunkedArray) -> ColumnSketch | None:
    """Sketch one window column against its reference profile entry (None: not tested)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = _kind(entry)
    if kind is None:
        return None
    missing = column.null_count
    if pa.types.is_floating(column.type):
        missing += int(pc.sum(pc.is_nan(column.drop_null())).as_py() or 0)
    out = ColumnSketch(kind, len(column), missing)
    if kind == "numeric":
        ref = num.reference_of(entry)
        if ref is None or not (
            pa.types.is_floating(column.type) or pa.types.is_integer(column.type)
        ):
            return None
        values = cols.values_of(column)
        index = np.searchsorted(ref.knots, values, side="left")
        out.counts = np.bincount(index, minlength=ref.knots.size + 1).astype(float).tolist()
        under = values[index == 0]
        over = values[index == ref.knots.size]
        out.below_sum, out.below_n = float(np.sum(ref.knots[1] - under)), int(under.size)
        out.above_sum, out.above_n = float(np.sum(over - ref.knots[-1])), int(over.size)
    else:
        if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
            return None
        out.categories = {k: int(v) for k, v in cols.counts_of(column).items()}
    return out


def sketch_table(
    profile: dict[str, Any], table: pa.Table, columns: dict[str, str]
) -> dict[str, ColumnSketch]:
    """Sketch the window ``table``: ``columns`` maps reference column -> table column."""
    entries = profile.get("columns") or {}
    out = {}
    for name, source in columns.items():
        if name in entries and source in table.column_names:
            sketch = sketch_column(entries[name], table.column(source))
            if sketch is not None:
                sketch.source = source
                out[name] = sketch
    return out


def merge_sketches(parts: list[dict[str, ColumnSketch]]) -> dict[str, ColumnSketch]:
    """Add up the sketches of several windows, column by column (one vector sum each)."""
    by_column: dict[str, list[ColumnSketch]] = {}
    for part in parts:
        for name, sketch in part.items():
            by_column.setdefault(name, []).append(sketch)
    out: dict[str, ColumnSketch] = {}
    for name, items in by_column.items():
        first = items[0]
        counts = [i.counts for i in items if i.counts]
        cats: dict[Any, int] = {}
        for item in items:
            for key, value in item.categories.items():
                cats[key] = cats.get(key, 0) + value
        out[name] = ColumnSketch(
            first.kind,
            sum(i.rows for i in items),
            sum(i.missing for i in items),
            np.sum(np.asarray(counts, float), axis=0).tolist() if counts else [],
            cats,
            sum(i.below_sum for i in items),
            sum(i.below_n for i in items),
            sum(i.above_sum for i in items),
            sum(i.above_n for i in items),
            first.source,
        )
    return out


def sketches_to_json(sketches: dict[str, ColumnSketch]) -> str:
    """Sketches as JSON text (what the cache stores)."""
    plain = {}
    for name, sketch in sketches.items():
        item = dict(vars(sketch))
        item["categories"] = [[k, v] for k, v in sketch.categories.items()]
        plain[name] = item
    return json.dumps(plain, sort_keys=True, default=str)


def sketches_from_json(text: str) -> dict[str, ColumnSketch]:
    """Inverse of :func:`sketches_to_json`."""
    out = {}
    for name, item in json.loads(text).items():
        item["categories"] = {k: v for k, v in item["categories"]}
        out[name] = ColumnSketch(**item)
    return out


def sketch_drift(
    profile: dict[str, Any],
    sketches: dict[str, ColumnSketch],
    rows: int,
    *,
    spec: MonitorSpec,
    predictions: set[str],
    reference: str,
    current: str,
) -> DriftReport:
    """The drift report of a window known only by its sketches."""
    from loopml.monitoring._drift import family
    from loopml.monitoring._report import DriftReport

    entries = profile.get("columns") or {}
    families: dict[str, list[Any]] = {"feature": [], "prediction": []}
    skipped: dict[str, str] = {}
    for name, sketch in sketches.items():
        entry = entries[name]
        fspec = spec.features.get(name)
        if fspec is not None and fspec.ignore:
            skipped[name] = "ignored by the spec"
            continue
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        defaults = cols.NUMERIC_TESTS if sketch.kind == "numeric" else cols.CATEGORICAL_TESTS
        chosen = fspec.tests if fspec and fspec.tests else defaults
        tests = tuple(t for t in chosen if t in defaults)
        new: list[Any] = []
        vanished: list[Any] = []
        if sketch.kind == "numeric":
            window = num.NumericWindow(
                np.asarray(sketch.counts, float),
                sketch.below_sum / sketch.below_n if sketch.below_n else 0.0,
                sketch.above_sum / sketch.above_n if sketch.above_n else 0.0,
            )
            raws = cols.numeric_tests_counted(
                entry, window, tests, alpha=spec.fdr, confidence=spec.confidence, rng=rng
            )
        else:
            raws, new, vanished = cols.categorical_tests_counted(
                entry,
                dict(sketch.categories),
                tests,
                alpha=spec.fdr,
                confidence=spec.confidence,
                rng=rng,
            )
        ref_rows = int(entry.get("count") or 0) + int(entry.get("nulls") or 0)
        if "missing_rate" in tests:
            ref_missing = int(entry.get("nulls") or 0) + int(entry.get("nan") or 0)
            raws.append(
                cols.missing_test(
                    ref_missing, ref_rows, sketch.missing, sketch.rows, alpha=spec.fdr
                )
            )
        role = "prediction" if name in predictions else "feature"
        families[role].append((name, sketch.kind, raws, new, vanished, ref_rows, sketch.rows))
    return DriftReport(
        reference,
        current,
        int(profile.get("rows") or 0),
        rows,
        spec.fdr,
        family(families["feature"], spec, "feature"),
        family(families["prediction"], spec, "prediction"),
        None,
        skipped,
    )
