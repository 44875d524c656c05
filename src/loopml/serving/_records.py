"""Prediction records and their columnar form (one Arrow table per group of records).

A record holds one request: n rows of inputs and outputs. In a table each row of it is a
row, numbered 0..n-1 by ``row``, beside the request's id, time, model and latency; inputs
are ``in.<name>`` columns and outputs ``out.<name>``. An array with more than one axis
(a tensor input, ``predict_proba``) becomes a fixed-size list column per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pyarrow as pa

#: The columns every segment starts with, in this order.
BASE_COLUMNS = (
    "prediction_id",
    "row",
    "time_ms",
    "model",
    "version",
    "deployment",
    "arm",
    "latency_ms",
    "error",
)
INPUT_PREFIX = "in."
OUTPUT_PREFIX = "out."
MAX_PREDICTION_ID = 128

#: (model, version, deployment): the records one segment holds.
GroupKey = tuple[str, int | None, str | None]
#: A group key plus the names, dtypes and row shapes of the inputs and of the outputs.
ShapeKey = tuple[GroupKey, tuple[tuple[tuple[str, Any, tuple[int, ...]], ...], ...]]


@dataclass(frozen=True)
class PredictionRecord:
    """One logged request: its rows as validated, the model's outputs, and where it ran.

    Attributes:
        prediction_id: One per request (rows are numbered 0..n-1 within it); the caller's
            own id when it passed one (at most 128 characters).
        time_ms: Unix ms when the request arrived.
        model: Registered model name, or the folder name of a model served from a path.
        version: Registered version number; None for a plain path.
        deployment: Deployment name; None for ``loopml serve MODEL``.
        arm: Deployment arm (e.g. ``"stable"``, ``"canary"``); None otherwise.
        inputs: The rows as validated: one array per input column, batch on axis 0.
        outputs: The model's outputs, batch on axis 0.
        latency_ms: Time the request took to answer.
        error: Why the prediction failed (``model``, ``deadline``, ``overloaded``), with
            no outputs; None for an answered request. Failures are logged so that a
            rollout can judge each arm's error rate from the log.
    """

    prediction_id: str
    time_ms: int
    model: str
    version: int | None
    deployment: str | None
    arm: str | None
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    latency_ms: float
    error: str | None = None


@dataclass(frozen=True)
class BatchRecord:
    """Several requests answered by one predict call, logged as one record.

    The micro-batcher hands the log the arrays it already concatenated for the model, so
    the writer's work grows with the number of predict calls, not of requests. In a
    segment the rows are the same as if each request had been logged alone.

    Attributes:
        prediction_ids: One per request, in the order of the rows.
        counts: Rows of each request.
        time_ms: Unix ms when each request arrived.
        latency_ms: Time each request took until its answer was ready.
        model: Registered model name (or the folder name of a plain path).
        version: Registered version number; None for a plain path.
        deployment: Deployment name, or None.
        arm: Deployment arm, or None.
        inputs: The requests' rows, concatenated on axis 0.
        outputs: The model's outputs for them, batch on axis 0.
    """

    prediction_ids: tuple[str, ...]
    counts: tuple[int, ...]
    time_ms: tuple[int, ...]
    latency_ms: tuple[float, ...]
    model: str
    version: int | None
    deployment: str | None
    arm: str | None
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]


AnyRecord = PredictionRecord | BatchRecord


def check_batch(record: BatchRecord) -> int:
    """Return the batch's row count; InvalidInput if its parts disagree."""
    n = len(record.prediction_ids)
    if not n or not len(record.counts) == len(record.time_ms) == len(record.latency_ms) == n:
        raise InvalidInput(
            f"a batch record needs one count, time and latency per prediction id; got "
            f"{n} ids, {len(record.counts)} counts, {len(record.time_ms)} times and "
            f"{len(record.latency_ms)} latencies",
            hint="Pass one entry per request in each of the four sequences.",
        )
    for pid in record.prediction_ids:
        if not isinstance(pid, str) or not 0 < len(pid) <= MAX_PREDICTION_ID:
            raise InvalidInput(
                f"invalid prediction id {pid!r} for the prediction log",
                hint=f"A prediction id is a non-empty string of at most {MAX_PREDICTION_ID} "
                "characters.",
            )
    total = sum(record.counts)
    for part, arrays in (("input", record.inputs), ("output", record.outputs)):
        for name, array in arrays.items():
            if len(array) != total:
                raise InvalidInput(
                    f"batch record: {part} {name!r} has {len(array)} rows, the requests "
                    f"have {total}",
                    hint="Every array holds the batch's rows on axis 0.",
                )
    return total


def check_record(record: PredictionRecord) -> int:
    """Return the record's row count; InvalidInput if its arrays disagree or the id is bad.

    Cheap (a few length checks), so it runs on the caller's thread: a record the writer
    could not store is refused at ``append`` rather than lost later.
    """
    pid = record.prediction_id
    if not isinstance(pid, str) or not 0 < len(pid) <= MAX_PREDICTION_ID:
        raise InvalidInput(
            f"invalid prediction id {pid!r} for the prediction log",
            hint=f"A prediction id is a non-empty string of at most {MAX_PREDICTION_ID} "
            "characters.",
        )
    rows: int | None = None
    for part, arrays in (("input", record.inputs), ("output", record.outputs)):
        for name, array in arrays.items():
            n = len(array) if getattr(array, "ndim", 1) else 1
            if rows is None:
                rows = n
            elif n != rows:
                raise InvalidInput(
                    f"prediction {pid!r}: {part} {name!r} has {n} rows, expected {rows}",
                    hint="Every input and output array holds the request's rows on axis 0.",
                    prediction_id=pid,
                )
    if rows is None:
        raise InvalidInput(
            f"prediction {pid!r} has no inputs and no outputs to log",
            hint="Log the validated input columns and the model's outputs.",
            prediction_id=pid,
        )
    return rows


def _rows(record: PredictionRecord) -> int:
    """Rows of a record that :func:`check_record` accepted (its first array's length)."""
    for arrays in (record.inputs, record.outputs):
        for array in arrays.values():
            return len(_array(array))
    return check_record(record)


def _array(values: Any) -> np.ndarray:
    array = np.asarray(values)
    return array.reshape(1) if array.ndim == 0 else array


def _layout(arrays: Mapping[str, Any]) -> tuple[tuple[str, Any, tuple[int, ...]], ...]:
    out = []
    for name, array in arrays.items():
        a = array if isinstance(array, np.ndarray) and array.ndim else _array(array)
        out.append((name, a.dtype, a.shape[1:]))
    return tuple(out)


def shape_key(record: AnyRecord) -> ShapeKey:
    """The group and array layout of a record: records with equal keys share a table."""
    return (record.model, record.version, record.deployment), (
        _layout(record.inputs),
        _layout(record.outputs),
    )


def _arrow(array: np.ndarray) -> pa.Array:
    import pyarrow as pa

    if array.ndim > 1:
        values = _arrow(array.reshape(-1))
        for size in reversed(array.shape[1:]):
            values = pa.FixedSizeListArray.from_arrays(values, size)
        return values
    try:
        return pa.array(array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        # Mixed Python objects: keep every value, as its text.
        return pa.array([None if v is None else str(v) for v in array.tolist()], pa.string())


_DTYPE = attrgetter("dtype")
_INPUTS = attrgetter("inputs")
_OUTPUTS = attrgetter("outputs")


def _cheap_key(record: AnyRecord) -> tuple[Any, ...]:
    """The group and the input and output names: no look at any array (O(1) a record)."""
    return (
        record.model,
        record.version,
        record.deployment,
        tuple(record.inputs),
        tuple(record.outputs),
    )


def group_tables(
    records: Sequence[AnyRecord],
) -> list[tuple[ShapeKey, list[AnyRecord], pa.Table]]:
    """The rows of ``records`` as one Arrow table per :func:`shape_key`, in first-seen order.

    Records are grouped by model, deployment and column names only; a group whose arrays
    all share dtype and row shape (what one server produces) is joined column by column in
    C, so the work a record costs does not grow with its number of columns. A group that
    mixes dtypes or shapes is split by the exact :func:`shape_key`, as before.
    """
    groups: dict[tuple[Any, ...], list[AnyRecord]] = {}
    for record in records:
        groups.setdefault(_cheap_key(record), []).append(record)
    out: list[tuple[ShapeKey, list[AnyRecord], pa.Table]] = []
    for members in groups.values():
        columns = _joined_columns(members)
        if columns is not None:
            key = shape_key(members[0])
            out.append((key, members, _table(members, key, columns)))
            continue
        exact: dict[ShapeKey, list[AnyRecord]] = {}
        for record in members:
            exact.setdefault(shape_key(record), []).append(record)
        out.extend((key, part, records_table(part, key)) for key, part in exact.items())
    return out


#: Above this many columns a record's columns are joined into one block first.
_BLOCK_COLUMNS = 4


def _joined_columns(records: Sequence[AnyRecord]) -> dict[str, np.ndarray] | None:
    """Every input and output of ``records`` concatenated; None if dtypes or shapes differ."""
    joined: dict[str, np.ndarray] = {}
    for prefix, getter in ((INPUT_PREFIX, _INPUTS), (OUTPUT_PREFIX, _OUTPUTS)):
        parts: list[dict[str, np.ndarray]] = list(map(getter, records))
        names = list(parts[0])
        columns = _by_block(parts) if len(names) > _BLOCK_COLUMNS else None
        if columns is None:
            columns = _by_column(parts, names)
        if columns is None:
            return None
        joined.update(zip([prefix + n for n in names], columns, strict=True))
    return joined


def _by_column(parts: list[dict[str, np.ndarray]], names: list[str]) -> list[np.ndarray] | None:
    out = []
    for name in names:
        arrays = list(map(itemgetter(name), parts))
        try:
            if len(set(map(_DTYPE, arrays))) != 1 or not arrays[0].ndim:
                return None
            out.append(arrays[0] if len(arrays) == 1 else np.concatenate(arrays))
        except (AttributeError, ValueError):  # not arrays, or rows of other shapes
            return None
    return out


def _by_block(parts: list[dict[str, np.ndarray]]) -> list[np.ndarray] | None:
    """Many 1-D columns of one dtype: one concatenation a record, one for the group."""
    maybe = list(map(_block, parts))
    try:
        if len(set(map(_DTYPE, maybe))) != 1:
            return None
    except AttributeError:  # a record whose columns are not all 1-D of one dtype
        return None
    blocks = cast("list[np.ndarray]", maybe)
    whole = blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=1)
    return list(whole)


def _block(arrays: dict[str, np.ndarray]) -> np.ndarray | None:
    """A record's columns as one (columns, rows) array; None unless all 1-D of one dtype."""
    values = list(arrays.values())
    try:
        if len(set(map(_DTYPE, values))) != 1:
            return None
        flat = np.concatenate(values)
        rows = len(values[0])
    except (AttributeError, TypeError, ValueError):
        return None
    if flat.ndim != 1 or flat.size != rows * len(values):
        return None
    return flat.reshape(len(values), rows)


def records_table(records: Sequence[AnyRecord], key: ShapeKey) -> pa.Table:
    """One Arrow table of the rows of ``records`` (all of one :func:`shape_key`)."""
    columns: dict[str, np.ndarray] = {}
    (_, layout) = key
    for prefix, part, attr in (
        (INPUT_PREFIX, layout[0], "inputs"),
        (OUTPUT_PREFIX, layout[1], "outputs"),
    ):
        for name, _dtype, _shape in part:
            arrays = [getattr(r, attr)[name] for r in records]
            try:
                joined = np.concatenate(arrays) if len(arrays) > 1 else _array(arrays[0])
            except ValueError:  # a 0-d array among them
                joined = np.concatenate([_array(a) for a in arrays])
            columns[prefix + name] = joined
    return _table(records, key, columns)


def _table(records: Sequence[AnyRecord], key: ShapeKey, data: dict[str, np.ndarray]) -> pa.Table:
    """The table of ``records``: the base columns, then ``data`` (their joined arrays)."""
    import pyarrow as pa

    (model, version, deployment), _ = key
    ids, counts, times, latencies, arms, errors = _per_request(records)
    total = int(sum(counts))
    if len(counts) == total:  # one row a request (the usual single-row traffic)
        per_request: np.ndarray | None = None
        row = np.zeros(total, dtype=np.int64)
    else:
        per_request = np.asarray(counts, dtype=np.int64)
        starts = np.cumsum(per_request) - per_request
        row = np.arange(total, dtype=np.int64) - np.repeat(starts, per_request)

    def repeat(values: Sequence[Any], dtype: Any) -> np.ndarray:
        array = np.asarray(values, dtype=dtype)
        return array if per_request is None else np.repeat(array, per_request)

    def text(values: Sequence[str | None]) -> pa.Array:
        first = values[0]
        if values.count(first) == len(values):  # one value (C-level count): no array of it
            return _constant(first, pa.string(), total)
        if per_request is None:
            return pa.array(values, pa.string())
        return pa.array(repeat(values, object), pa.string())

    columns: dict[str, pa.Array] = {
        "prediction_id": text(ids) if len(ids) > 1 else _constant(ids[0], pa.string(), total),
        "row": pa.array(row),
        "time_ms": pa.array(repeat(times, np.int64)),
        "model": _constant(model, pa.string(), total),
        "version": _constant(version, pa.int64(), total),
        "deployment": _constant(deployment, pa.string(), total),
        "arm": text(arms),
        "latency_ms": pa.array(repeat(latencies, np.float64)),
        "error": text(errors),
    }
    for name, values in data.items():
        columns[name] = _arrow(values)
    return pa.table(columns)


def _constant(value: Any, kind: pa.DataType, n: int) -> pa.Array:
    import pyarrow as pa

    return pa.nulls(n, kind) if value is None else pa.repeat(pa.scalar(value, kind), n)


_IDS = attrgetter("prediction_ids")
_COUNTS = attrgetter("counts")
_TIMES = attrgetter("time_ms")
_LATENCIES = attrgetter("latency_ms")


def _per_request(
    records: Sequence[AnyRecord],
) -> tuple[list[str], list[int], list[int], list[float], list[str | None], list[str | None]]:
    """Id, rows, time, latency, arm and error of each request of ``records``, in order."""
    if all(isinstance(r, BatchRecord) for r in records):
        batches: Sequence[BatchRecord] = records  # type: ignore[assignment]
        counts = list(chain.from_iterable(map(_COUNTS, batches)))
        arms: list[str | None] = []
        for batch in batches:
            arms += [batch.arm] * len(batch.counts)
        return (
            list(chain.from_iterable(map(_IDS, batches))),
            counts,
            list(chain.from_iterable(map(_TIMES, batches))),
            list(chain.from_iterable(map(_LATENCIES, batches))),
            arms,
            [None] * len(counts),
        )
    ids: list[str] = []
    counts = []
    times: list[int] = []
    latencies: list[float] = []
    arms = []
    errors: list[str | None] = []
    for r in records:
        if isinstance(r, BatchRecord):
            ids.extend(r.prediction_ids)
            counts.extend(r.counts)
            times.extend(r.time_ms)
            latencies.extend(r.latency_ms)
            arms.extend([r.arm] * len(r.counts))
            errors.extend([None] * len(r.counts))
        else:
            ids.append(r.prediction_id)
            counts.append(_rows(r))
            times.append(r.time_ms)
            latencies.append(r.latency_ms)
            arms.append(r.arm)
            errors.append(r.error)
    return ids, counts, times, latencies, arms, errors


def segment_metadata(segment_id: str, key: GroupKey) -> Mapping[bytes, bytes]:
    """Schema metadata naming a segment and its group (read back by crash recovery)."""
    model, version, deployment = key
    meta = {b"loopml.segment": segment_id.encode(), b"loopml.model": model.encode()}
    if version is not None:
        meta[b"loopml.version"] = str(version).encode()
    if deployment is not None:
        meta[b"loopml.deployment"] = deployment.encode()
    return meta


def group_of(metadata: Mapping[bytes, bytes] | None) -> GroupKey:
    """The group key :func:`segment_metadata` wrote."""
    meta = metadata or {}
    version = meta.get(b"loopml.version")
    deployment = meta.get(b"loopml.deployment")
    return (
        meta.get(b"loopml.model", b"").decode(),
        None if version is None else int(version),
        None if deployment is None else deployment.decode(),
    )
