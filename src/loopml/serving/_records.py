"""Prediction records and their columnar form (one Arrow table per group of records).

A record holds one request: n rows of inputs and outputs. In a table each row of it is a
row, numbered 0..n-1 by ``row``, beside the request's id, time, model and latency; inputs
are ``in.<name>`` columns and outputs ``out.<name>``. An array with more than one axis
(a tensor input, ``predict_proba``) becomes a fixed-size list column per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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


def shape_key(record: PredictionRecord) -> ShapeKey:
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


def records_table(records: Sequence[PredictionRecord], key: ShapeKey) -> pa.Table:
    """One Arrow table of the rows of ``records`` (all of one :func:`shape_key`)."""
    import pyarrow as pa

    (model, version, deployment), layout = key
    counts = np.fromiter((_rows(r) for r in records), dtype=np.int64, count=len(records))
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    columns: dict[str, pa.Array] = {
        "prediction_id": pa.array(
            np.repeat(np.array([r.prediction_id for r in records], dtype=object), counts),
            pa.string(),
        ),
        "row": pa.array(np.arange(total, dtype=np.int64) - np.repeat(starts, counts)),
        "time_ms": pa.array(np.repeat(np.array([r.time_ms for r in records], np.int64), counts)),
        "model": pa.array(np.full(total, model, dtype=object), pa.string()),
        "version": pa.array(
            np.full(total, version, dtype=object) if version is not None else [None] * total,
            pa.int64(),
        ),
        "deployment": pa.array([deployment] * total, pa.string()),
        "arm": pa.array(
            np.repeat(np.array([r.arm for r in records], dtype=object), counts), pa.string()
        ),
        "latency_ms": pa.array(
            np.repeat(np.array([r.latency_ms for r in records], np.float64), counts)
        ),
        "error": pa.array(
            np.repeat(np.array([r.error for r in records], dtype=object), counts), pa.string()
        ),
    }
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
            columns[prefix + name] = _arrow(joined)
    return pa.table(columns)


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
