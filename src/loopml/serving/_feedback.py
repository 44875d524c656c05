"""Feedback (ground truth joined to predictions by id) and reading the prediction log back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from loopml.entities import Feedback, FeedbackEntry, PredictionSegment
from loopml.errors import InvalidInput, NotFound
from loopml.serving._predlog import live_logs
from loopml.serving._spool import read_spool, spool_dir, spool_files
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from loopml.workspace import Workspace

TimeLike = datetime | int | float | str | None
_KEYS = frozenset({"prediction_id", "label", "row"})


@dataclass(frozen=True)
class FeedbackResult:
    """What :func:`log_feedback` recorded.

    Attributes:
        accepted: Labels recorded by this call.
        updated: Of them, how many replaced an earlier label (the latest wins).
        feedback: The stored labels after this call, with their update counts.
    """

    accepted: int
    updated: int
    feedback: tuple[Feedback, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer of ``POST /feedback``."""
        return {
            "accepted": self.accepted,
            "updated": self.updated,
            "feedback": [
                {"prediction_id": f.prediction_id, "row": f.row, "updates": f.updates}
                for f in self.feedback
            ],
        }


def _entry(item: object, where: str) -> FeedbackEntry:
    if not isinstance(item, Mapping):
        raise InvalidInput(
            f"{where}: feedback must be an object, got {type(item).__name__}",
            hint='Send {"prediction_id": "...", "label": ...} or a list of them.',
        )
    extra = sorted(set(item) - _KEYS)
    if extra:
        raise InvalidInput(
            f"{where}: unknown feedback field {extra[0]!r}",
            hint="Accepted fields: prediction_id, label, row (optional).",
            field=extra[0],
        )
    for name in ("prediction_id", "label"):
        if name not in item:
            raise InvalidInput(
                f"{where}: feedback is missing {name!r}",
                hint='Send {"prediction_id": "...", "label": ...}.',
                field=name,
            )
    return FeedbackEntry(item["prediction_id"], item["label"], item.get("row"))


def _entries(items: object, label: Any, row: int | None) -> list[FeedbackEntry]:
    if isinstance(items, str):
        return [FeedbackEntry(items, label, row)]
    if label is not None or row is not None:
        raise InvalidInput(
            "label= and row= go with a prediction id, not with feedback objects",
            hint="Call log_feedback(prediction_id, label) or log_feedback([{...}, ...]).",
        )
    if isinstance(items, Mapping):
        return [_entry(items, "feedback")]
    if isinstance(items, Sequence):
        return [_entry(item, f"feedback[{n}]") for n, item in enumerate(items)]
    raise InvalidInput(
        f"feedback must be a prediction id, an object or a list, got {type(items).__name__}",
        hint='Send {"prediction_id": "...", "label": ...} or a list of them.',
    )


def _spooled_ids(workspace: Workspace, wanted: set[str]) -> set[str]:
    """Which of ``wanted`` sit in spool files (logged, not sealed yet) of this home."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found: set[str] = set()
    for path in spool_files(spool_dir(workspace.home)):
        table = read_spool(path)
        if table is None or not table.num_rows:
            continue
        hits = pc.is_in(table["prediction_id"], value_set=pa.array(sorted(wanted), pa.string()))
        found.update(table.filter(hits)["prediction_id"].to_pylist())
    return found


def known_predictions(ids: Sequence[str], workspace: Workspace) -> set[str]:
    """The ids of ``ids`` that were logged: sealed (indexed) or still in a spool file."""
    store = workspace.store
    wanted = set(ids)
    known = set(store.find_predictions(sorted(wanted)))
    missing = wanted - known
    if missing:
        live_logs(workspace).flush()  # this process's queue reaches the spool first
        known |= _spooled_ids(workspace, missing)
        missing -= known
    if missing:  # sealed (and its spool file deleted) while we looked
        known |= set(store.find_predictions(sorted(missing)))
    return known


def log_feedback(
    items: Mapping[str, Any] | Sequence[Mapping[str, Any]] | str,
    label: Any = None,
    *,
    row: int | None = None,
    workspace: Workspace | None = None,
) -> FeedbackResult:
    """Record ground-truth labels of logged predictions, joined to them by prediction id.

    Labels may come late (any time after the prediction), for part of the predictions or
    rows only, and more than once: the latest label wins and ``updates`` counts them.

    Args:
        items: A prediction id (with ``label``), one ``{"prediction_id", "label", "row"}``
            object, or a list of them. ``row`` (optional) labels one row of a multi-row
            prediction; without it the label is for every row.
        label: The label, when ``items`` is a prediction id (any JSON value).
        row: The row, when ``items`` is a prediction id.
        workspace: Where the predictions were logged (default: the current one).

    Returns:
        What was recorded.

    Raises:
        NotFound: A prediction id was never logged (nothing of the call is recorded).
        InvalidInput: A malformed item or a label that is not JSON.

    Example:
        >>> import loopml
        >>> loopml.serving.log_feedback("0" * 32, 1)  # doctest: +SKIP
    """
    ws = workspace if workspace is not None else current_workspace()
    entries = _entries(items, label, row)
    if not entries:
        return FeedbackResult(0, 0, ())
    for entry in entries:
        if not isinstance(entry.prediction_id, str) or not entry.prediction_id:
            raise InvalidInput(
                f"invalid prediction id {entry.prediction_id!r} in feedback",
                hint="A prediction id is the non-empty string the server answered with.",
                field="prediction_id",
            )
    ids = [e.prediction_id for e in entries]
    known = known_predictions(ids, ws)
    unknown = [i for i in dict.fromkeys(ids) if i not in known]
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise NotFound(
            "prediction",
            unknown[0],
            hint=f"No logged prediction has this id{more}; nothing was recorded. Use the "
            "id from the X-Prediction-Id header or the answer's body.",
        )
    stored = ws.store.log_feedback(entries, actor=ws.actor.name)
    keys = {(e.prediction_id, e.row) for e in entries}
    updated = sum(1 for f in stored if (f.prediction_id, f.row) in keys and f.updates > 1)
    return FeedbackResult(len(entries), min(updated, len(entries)), tuple(stored))


def to_ms(value: TimeLike, name: str) -> int | None:
    """Unix ms from a datetime, ISO text, or a number of unix ms (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{name} must be a time, got {value!r}")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput(
                f"{name} {value!r} is not a time",
                hint="Give an ISO time such as 2026-12-01T10:00:00+00:00, or unix ms.",
                field=name,
            ) from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.astimezone()  # naive: local time, as the user reads it
        return int(value.timestamp() * 1000)
    raise InvalidInput(f"{name} must be a time, got {type(value).__name__}", field=name)


def _spool_tables(ws: Workspace) -> dict[str, pa.Table]:
    tables = {}
    for path in spool_files(spool_dir(ws.home)):
        table = read_spool(path)
        if table is not None and table.num_rows:
            tables[path.name.partition(".")[0]] = table
    return tables


def read_tables(
    ws: Workspace,
    *,
    model: str | None = None,
    version: int | None = None,
    deployment: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    prediction_ids: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
) -> list[pa.Table]:
    """The logged rows matching the filters: sealed segments, then unsealed spool files.

    ``columns`` reads only those columns (plus the ones the filters and ordering need).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from loopml.serving._records import group_of

    spooled = _spool_tables(ws)  # before the index: a file sealed meanwhile is then indexed
    if prediction_ids is not None:
        found = ws.store.find_predictions(list(prediction_ids))
        wanted = {s for ids in found.values() for s in ids}
        segments = [ws.store.get_prediction_segment(s) for s in sorted(wanted)]
    else:
        segments = ws.store.list_prediction_segments(
            model=model,
            version=version,
            deployment=deployment,
            since_ms=since_ms,
            until_ms=until_ms,
        )
    indexed = {s.id for s in segments}
    wanted_columns = None
    if columns is not None:
        wanted_columns = list(
            dict.fromkeys(["prediction_id", "row", "time_ms", "version", *columns])
        )
    tables = [
        pq.read_table(pa.BufferReader(ws.artifacts.get(s.digest)), columns=wanted_columns)
        for s in segments
    ]
    for segment_id, table in spooled.items():
        if segment_id in indexed:
            continue
        m, v, d = group_of(table.schema.metadata)
        if (model, version, deployment) != (None, None, None) and (
            (model is not None and m != model)
            or (version is not None and v != version)
            or (deployment is not None and d != deployment)
        ):
            continue
        if wanted_columns is not None:
            table = table.select([c for c in wanted_columns if c in table.column_names])
        tables.append(table)
    if prediction_ids is not None:
        value_set = pa.array(sorted(set(prediction_ids)), pa.string())
        tables = [t.filter(pc.is_in(t["prediction_id"], value_set=value_set)) for t in tables]
    if since_ms is not None:
        tables = [t.filter(pc.greater_equal(t["time_ms"], since_ms)) for t in tables]
    if until_ms is not None:
        tables = [t.filter(pc.less_equal(t["time_ms"], until_ms)) for t in tables]
    return [t.replace_schema_metadata(None) for t in tables if t.num_rows]


def _join_labels(frame: pd.DataFrame, feedback: list[Feedback]) -> pd.DataFrame:
    import pandas as pd

    whole = {f.prediction_id: f for f in feedback if f.row is None}
    rows = {(f.prediction_id, f.row): f for f in feedback if f.row is not None}
    picked = [
        rows.get((pid, int(r)), whole.get(pid))
        for pid, r in zip(frame["prediction_id"], frame["row"], strict=True)
    ]
    frame["label"] = pd.Series([None if f is None else f.label for f in picked], dtype=object)
    frame["label_updates"] = [0 if f is None else f.updates for f in picked]
    frame["label_time_ms"] = pd.array(
        [None if f is None else f.updated_at_ms for f in picked], dtype="Int64"
    )
    return frame


def frame_of(tables: list[pa.Table], ws: Workspace, *, with_feedback: bool) -> pd.DataFrame:
    """The tables as one DataFrame ordered by time, with labels joined when asked."""
    import pyarrow as pa

    from loopml.serving._records import BASE_COLUMNS

    if tables:
        table = pa.concat_tables(tables, promote_options="permissive")
    else:
        table = pa.table({name: pa.array([], pa.string()) for name in BASE_COLUMNS})
    frame = table.to_pandas()
    frame["version"] = frame["version"].astype("Int64")
    if len(frame):
        frame = frame.sort_values(["time_ms", "prediction_id", "row"], kind="stable")
        frame = frame.reset_index(drop=True)
    if with_feedback:
        ids = sorted(set(frame["prediction_id"])) if len(frame) else []
        frame = _join_labels(frame, ws.store.get_feedback(ids) if ids else [])
    return frame


def prediction_segments(
    model: str | None = None,
    *,
    version: int | None = None,
    deployment: str | None = None,
    since: TimeLike = None,
    until: TimeLike = None,
    workspace: Workspace | None = None,
) -> list[PredictionSegment]:
    """The sealed segments of the prediction log whose time range meets ``[since, until]``.

    Args:
        model: Only this model's segments.
        version: Only this version's.
        deployment: Only this deployment's.
        since: Only segments ending at or after this time (datetime, ISO text or unix ms).
        until: Only segments starting at or before this time.
        workspace: The workspace (default: the current one).
    """
    ws = workspace if workspace is not None else current_workspace()
    return ws.store.list_prediction_segments(
        model=model,
        version=version,
        deployment=deployment,
        since_ms=to_ms(since, "since"),
        until_ms=to_ms(until, "until"),
    )


def read_predictions(
    model: str | None = None,
    *,
    version: int | None = None,
    deployment: str | None = None,
    since: TimeLike = None,
    until: TimeLike = None,
    with_feedback: bool = True,
    prediction_ids: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    workspace: Workspace | None = None,
) -> pd.DataFrame:
    """Read the prediction log back as a DataFrame, one row per predicted row.

    Columns: ``prediction_id``, ``row``, ``time_ms``, ``model``, ``version``,
    ``deployment``, ``arm``, ``latency_ms``, one ``in.<name>`` per input and one
    ``out.<name>`` per output; with feedback also ``label``, ``label_updates`` (0: no
    label yet) and ``label_time_ms``. Sealed segments and records spooled but not sealed
    yet are both read.

    Args:
        model: Only this model's predictions.
        version: Only this version's.
        deployment: Only this deployment's.
        since: Only rows at or after this time (datetime, ISO text or unix ms).
        until: Only rows at or before this time.
        with_feedback: Join the latest label of each row.
        prediction_ids: Only these predictions (found through the id index).
        columns: Read only these columns (``prediction_id``, ``row``, ``time_ms`` and
            ``version`` always come too): ``["arm", "latency_ms"]`` reads a busy log's
            latencies without decoding its inputs.
        workspace: The workspace (default: the current one).
    """
    ws = workspace if workspace is not None else current_workspace()
    tables = read_tables(
        ws,
        columns=columns,
        prediction_ids=prediction_ids,
        model=model,
        version=version,
        deployment=deployment,
        since_ms=to_ms(since, "since"),
        until_ms=to_ms(until, "until"),
    )
    return frame_of(tables, ws, with_feedback=with_feedback)
