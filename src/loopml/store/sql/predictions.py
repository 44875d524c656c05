"""SQL implementation of :class:`~loopml.store.protocols.PredictionStore`."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from loopml.entities import Feedback, FeedbackEntry, PredictionSegment
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.ids import check_digest
from loopml.store.sql import tables as t
from loopml.store.sql._engine import upsert_insert
from loopml.store.sql._time import now_ms
from loopml.store.sql.lineage import edge_rows, insert_edges

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from sqlalchemy import Connection, RowMapping

    from loopml.entities import LineageEdge
    from loopml.store.sql._engine import Database

#: Ids per IN (...) list: well under SQLite's and PostgreSQL's limits on bound parameters.
_CHUNK = 900
_WHOLE = -1  # the row number stored for a label of the whole prediction
_MAX_ID = 128


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), _CHUNK):
        yield unique[start : start + _CHUNK]


def _to_segment(row: RowMapping) -> PredictionSegment:
    return PredictionSegment(
        id=row["id"],
        model=row["model"],
        version=None if row["version"] is None else int(row["version"]),
        deployment=row["deployment"],
        digest=row["digest"],
        rows=int(row["rows"]),
        predictions=int(row["predictions"]),
        start_ms=int(row["start_ms"]),
        end_ms=int(row["end_ms"]),
        size=int(row["size"]),
        created_at_ms=int(row["created_at_ms"]),
    )


def _to_feedback(row: RowMapping) -> Feedback:
    number = int(row["row"])
    return Feedback(
        prediction_id=row["prediction_id"],
        row=None if number == _WHOLE else number,
        label=json.loads(row["label_json"]),
        updates=int(row["updates"]),
        created_at_ms=int(row["created_at_ms"]),
        updated_at_ms=int(row["updated_at_ms"]),
        actor=row["actor"],
    )


def _label_json(entry: FeedbackEntry) -> str:
    try:
        return json.dumps(entry.label, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"the label of prediction {entry.prediction_id!r} is not JSON: {exc}",
            hint="Give a label as a number, string, boolean, null, list or object.",
            prediction_id=entry.prediction_id,
        ) from exc


def _check_entry(entry: FeedbackEntry) -> None:
    if not isinstance(entry.prediction_id, str) or not 0 < len(entry.prediction_id) <= _MAX_ID:
        raise InvalidInput(
            f"invalid prediction id {entry.prediction_id!r} in feedback",
            hint=f"A prediction id is a non-empty string of at most {_MAX_ID} characters.",
        )
    if entry.row is not None and (
        isinstance(entry.row, bool) or not isinstance(entry.row, int) or entry.row < 0
    ):
        raise InvalidInput(
            f"invalid row {entry.row!r} in the feedback of prediction {entry.prediction_id!r}",
            hint="A row is the 0-based row number within the prediction, or null for all rows.",
        )


class SqlPredictionStore:
    """The segment index, the prediction-id index and feedback in three SQL tables."""

    _db: Database

    def add_prediction_segment(
        self,
        segment: PredictionSegment,
        prediction_ids: Sequence[str],
        *,
        edges: Sequence[LineageEdge] = (),
    ) -> PredictionSegment:
        """Index a sealed segment, its ids (one bulk insert) and its edges atomically."""
        check_digest(segment.digest)
        values: dict[str, Any] = {
            "id": segment.id,
            "model": segment.model,
            "version": segment.version,
            "deployment": segment.deployment,
            "digest": segment.digest,
            "rows": segment.rows,
            "predictions": segment.predictions,
            "start_ms": segment.start_ms,
            "end_ms": segment.end_ms,
            "size": segment.size,
            "created_at_ms": segment.created_at_ms or now_ms(),
        }
        ids = [
            {"prediction_id": p, "segment_id": segment.id} for p in dict.fromkeys(prediction_ids)
        ]
        rows = edge_rows(edges)
        try:
            with self._db.write() as conn:
                conn.execute(insert(t.prediction_segments).values(**values))
                if ids:
                    conn.execute(insert(t.prediction_index), ids)
                insert_edges(conn, rows)
        except IntegrityError as exc:
            if self._segment_exists(segment.id):
                raise Conflict(
                    f"prediction segment {segment.id!r} is indexed already",
                    hint="A segment is sealed once; its spool file can be deleted.",
                    segment_id=segment.id,
                ) from exc
            raise
        return replace(segment, created_at_ms=values["created_at_ms"])

    def _segment_exists(self, segment_id: str) -> bool:
        with self._db.read() as conn:
            query = select(t.prediction_segments.c.id).where(
                t.prediction_segments.c.id == segment_id
            )
            return conn.execute(query).first() is not None

    def get_prediction_segment(self, segment_id: str) -> PredictionSegment:
        """Return one segment; NotFound if absent."""
        with self._db.read() as conn:
            query = select(t.prediction_segments).where(t.prediction_segments.c.id == segment_id)
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound("prediction segment", segment_id)
        return _to_segment(row)

    def list_prediction_segments(
        self,
        *,
        model: str | None = None,
        version: int | None = None,
        deployment: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
    ) -> list[PredictionSegment]:
        """Segments whose time range meets ``[since_ms, until_ms]``, oldest first."""
        s = t.prediction_segments
        query = select(s)
        if model is not None:
            query = query.where(s.c.model == model)
        if version is not None:
            query = query.where(s.c.version == version)
        if deployment is not None:
            query = query.where(s.c.deployment == deployment)
        if since_ms is not None:
            query = query.where(s.c.end_ms >= since_ms)
        if until_ms is not None:
            query = query.where(s.c.start_ms <= until_ms)
        query = query.order_by(s.c.start_ms, s.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self._db.read() as conn:
            return [_to_segment(row) for row in conn.execute(query).mappings()]

    def find_predictions(self, prediction_ids: Sequence[str]) -> dict[str, list[str]]:
        """The segment ids holding each id (ids not indexed are absent)."""
        found: dict[str, list[str]] = {}
        i = t.prediction_index
        with self._db.read() as conn:
            for chunk in _chunks(prediction_ids):
                query = (
                    select(i.c.prediction_id, i.c.segment_id)
                    .where(i.c.prediction_id.in_(chunk))
                    .order_by(i.c.prediction_id, i.c.segment_id)
                )
                for prediction_id, segment_id in conn.execute(query):
                    found.setdefault(prediction_id, []).append(segment_id)
        return found

    def log_feedback(self, entries: Sequence[FeedbackEntry], *, actor: str) -> list[Feedback]:
        """Upsert labels: the latest wins, ``updates`` counts every label logged."""
        merged: dict[tuple[str, int], dict[str, Any]] = {}
        stamp = now_ms()
        for entry in entries:
            _check_entry(entry)
            key = (entry.prediction_id, _WHOLE if entry.row is None else entry.row)
            previous = merged.get(key)
            merged[key] = {
                "prediction_id": key[0],
                "row": key[1],
                "label_json": _label_json(entry),
                # repeats within one call count too, so the total matches one call per label
                "updates": 1 if previous is None else previous["updates"] + 1,
                "created_at_ms": stamp,
                "updated_at_ms": stamp,
                "actor": actor,
            }
        if not merged:
            return []
        f = t.prediction_feedback
        with self._db.write() as conn:
            stmt = upsert_insert(conn.dialect.name, f)
            stmt = stmt.on_conflict_do_update(
                index_elements=[f.c.prediction_id, f.c.row],
                set_={
                    "label_json": stmt.excluded.label_json,
                    "updates": f.c.updates + stmt.excluded.updates,
                    "updated_at_ms": stmt.excluded.updated_at_ms,
                    "actor": stmt.excluded.actor,
                },
            )
            conn.execute(stmt, list(merged.values()))
            return self._feedback(conn, [key[0] for key in merged], keys=set(merged))

    def get_feedback(self, prediction_ids: Sequence[str]) -> list[Feedback]:
        """Every label of the given predictions, by id then row (whole-prediction first)."""
        with self._db.read() as conn:
            return self._feedback(conn, prediction_ids)

    def _feedback(
        self,
        conn: Connection,
        prediction_ids: Sequence[str],
        keys: set[tuple[str, int]] | None = None,
    ) -> list[Feedback]:
        f = t.prediction_feedback
        found: list[Feedback] = []
        for chunk in _chunks(prediction_ids):
            query = (
                select(f).where(f.c.prediction_id.in_(chunk)).order_by(f.c.prediction_id, f.c.row)
            )
            for row in conn.execute(query).mappings():
                if keys is None or (row["prediction_id"], int(row["row"])) in keys:
                    found.append(_to_feedback(row))
        found.sort(key=lambda fb: (fb.prediction_id, _WHOLE if fb.row is None else fb.row))
        return found
