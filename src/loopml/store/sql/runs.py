"""SQL implementation of :class:`~loopml.store.protocols.RunStore`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from loopml.entities import (
    MAX_KEY_LENGTH,
    MAX_PARAM_LENGTH,
    MAX_TAG_LENGTH,
    Metric,
    Run,
    RunArtifact,
    RunStatus,
)
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.ids import new_id
from loopml.store.sql import tables as t
from loopml.store.sql._time import now_ms
from loopml.store.sql.run_files import SqlRunFiles, artifact_rows
from loopml.store.sql.run_metrics import SqlRunMetrics
from loopml.store.sql.run_search import SqlRunSearch

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from loopml.store.sql._engine import Database

_MAX_VALUE = {"param": MAX_PARAM_LENGTH, "tag": MAX_TAG_LENGTH}
_LIMITS_HINT = (
    f"Keys hold at most {MAX_KEY_LENGTH} characters, param values {MAX_PARAM_LENGTH:,} and "
    f"tag values {MAX_TAG_LENGTH:,}; keep long text as an artifact "
    "(run.log_text(text, 'notes.txt')) and record a short value here."
)


def _check_keys(kind: str, keys: Sequence[str]) -> None:
    for key in keys:
        if isinstance(key, str) and len(key) > MAX_KEY_LENGTH:
            raise InvalidInput(
                f"{kind} key {key[:40]!r}... is {len(key):,} characters long, over the limit "
                f"of {MAX_KEY_LENGTH}",
                hint=_LIMITS_HINT,
                key=key,
                limit=MAX_KEY_LENGTH,
                size=len(key),
            )
        if not isinstance(key, str) or not key:
            raise InvalidInput(
                f"invalid {kind} key {key!r}",
                hint=f"A {kind} key is a non-empty string of at most {MAX_KEY_LENGTH} characters.",
                key=key,
            )


def _opt_int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def _check_values(kind: str, values: Mapping[str, str]) -> None:
    for key, value in values.items():
        if not isinstance(value, str):
            raise InvalidInput(
                f"{kind} {key!r} has a value of type {type(value).__name__}",
                hint=f"The store keeps {kind} values as strings; convert with str() first.",
                key=key,
            )
        limit = _MAX_VALUE.get(kind)
        if limit is not None and len(value) > limit:
            raise InvalidInput(
                f"{kind} {key!r} has a value of {len(value):,} characters, over the limit of "
                f"{limit:,}",
                hint=_LIMITS_HINT,
                key=key,
                limit=limit,
                size=len(value),
            )


def _to_run(row: RowMapping, params: dict[str, str], tags: dict[str, str]) -> Run:
    ended = row["ended_at_ms"]
    return Run(
        id=row["id"],
        name=row["name"],
        status=RunStatus(row["status"]),
        created_at_ms=int(row["created_at_ms"]),
        parent_id=row["parent_id"],
        ended_at_ms=None if ended is None else int(ended),
        error=row["error"],
        params=params,
        tags=tags,
        notes=row["notes"],
        heartbeat_ms=_opt_int(row["heartbeat_ms"]),
        deleted_at_ms=_opt_int(row["deleted_at_ms"]),
    )


class SqlRunStore(SqlRunMetrics, SqlRunSearch, SqlRunFiles):
    """Runs, params, tags and metrics in SQL tables."""

    _db: Database

    def create_run(
        self,
        *,
        name: str,
        parent_id: str | None = None,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        notes: str | None = None,
        heartbeat: bool = False,
        artifacts: Sequence[RunArtifact] = (),
    ) -> Run:
        """Create a RUNNING run with its params and tags in one transaction.

        ``heartbeat=True`` stamps a first heartbeat: the run is then expected to keep
        beating (see :meth:`heartbeat`) or be marked CRASHED once it goes stale.
        """
        if not name or len(name) > MAX_KEY_LENGTH:
            raise InvalidInput(
                f"invalid run name {name!r}",
                hint=f"A run name is a non-empty string of at most {MAX_KEY_LENGTH} characters.",
            )
        params, tags = dict(params or {}), dict(tags or {})
        _check_keys("param", list(params))
        _check_keys("tag", list(tags))
        _check_values("param", params)
        _check_values("tag", tags)
        run_id = new_id()
        created = now_ms()
        row = {
            "id": run_id,
            "name": name,
            "status": RunStatus.RUNNING.value,
            "parent_id": parent_id,
            "created_at_ms": created,
            "notes": notes,
            "heartbeat_ms": created if heartbeat else None,
        }
        with self._db.write() as conn:
            if parent_id is not None:
                self._require(conn, parent_id)
            conn.execute(insert(t.runs), row)
            for table, values in ((t.params, params), (t.tags, tags)):
                if values:
                    conn.execute(
                        insert(table),
                        [{"run_id": run_id, "key": k, "value": v} for k, v in values.items()],
                    )
            if artifacts:
                conn.execute(insert(t.run_artifacts), artifact_rows(run_id, artifacts))
        return Run(
            id=run_id,
            name=name,
            status=RunStatus.RUNNING,
            created_at_ms=created,
            parent_id=parent_id,
            params=params,
            tags=tags,
            notes=notes,
            heartbeat_ms=row["heartbeat_ms"],  # type: ignore[arg-type]
        )

    def get_run(self, run_id: str) -> Run:
        """Return the run with its params and tags; NotFound if absent."""
        with self._db.read() as conn:
            return self._load(conn, run_id)

    def list_runs(
        self, *, status: RunStatus | None = None, limit: int = 100, offset: int = 0
    ) -> list[Run]:
        """Return runs, newest first (params and tags not loaded)."""
        query = select(t.runs).order_by(t.runs.c.created_at_ms.desc(), t.runs.c.id.desc())
        if status is not None:
            query = query.where(t.runs.c.status == status.value)
        query = query.limit(limit).offset(offset)
        with self._db.read() as conn:
            return [_to_run(row, {}, {}) for row in conn.execute(query).mappings()]

    def set_run_status(self, run_id: str, status: RunStatus, *, error: str | None = None) -> Run:
        """Move a run to ``status``; a terminal status stamps the end time."""
        values: dict[str, object] = {"status": status.value, "error": error}
        values["ended_at_ms"] = now_ms() if status.is_terminal else None
        with self._db.write() as conn:
            result = conn.execute(update(t.runs).where(t.runs.c.id == run_id).values(**values))
            if result.rowcount == 0:
                raise NotFound("run", run_id)
            return self._load(conn, run_id)

    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        """Record params; the same value again is a no-op, a different one a Conflict."""
        _check_keys("param", list(params))
        _check_values("param", params)
        with self._db.write() as conn:
            self._require(conn, run_id)
            existing = dict(
                conn.execute(
                    select(t.params.c.key, t.params.c.value).where(
                        t.params.c.run_id == run_id, t.params.c.key.in_(list(params))
                    )
                ).all()
            )
            for key, value in params.items():
                if key in existing and existing[key] != value:
                    raise Conflict(
                        f"param {key!r} of run {run_id} is already {existing[key]!r}; "
                        f"cannot change it to {value!r}",
                        hint="Params are set once per run: use a new key or start a new run.",
                        run_id=run_id,
                        key=key,
                    )
            fresh = [
                {"run_id": run_id, "key": k, "value": v}
                for k, v in params.items()
                if k not in existing
            ]
            if fresh:
                conn.execute(insert(t.params), fresh)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set (or overwrite) tags."""
        _check_keys("tag", list(tags))
        _check_values("tag", tags)
        with self._db.write() as conn:
            self._require(conn, run_id)
            conn.execute(
                delete(t.tags).where(t.tags.c.run_id == run_id, t.tags.c.key.in_(list(tags)))
            )
            if tags:
                conn.execute(
                    insert(t.tags),
                    [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()],
                )

    def log_metrics(self, run_id: str, metrics: Sequence[Metric]) -> None:
        """Append metric points in one multi-row insert (all or none)."""
        if not metrics:
            return
        _check_keys("metric", list({m.key for m in metrics}))
        self.append_metric_rows(
            [
                (run_id, m.key, m.step, m.timestamp_ms, None if math.isnan(m.value) else m.value)
                for m in metrics
            ]
        )

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        """Stamp the heartbeat of RUNNING runs with the current time."""
        if not run_ids:
            return
        with self._db.write() as conn:
            conn.execute(
                update(t.runs)
                .where(t.runs.c.id.in_(list(run_ids)), t.runs.c.status == RunStatus.RUNNING.value)
                .values(heartbeat_ms=now_ms())
            )

    def mark_stale_runs_crashed(self, stale_before_ms: int) -> list[str]:
        """Move RUNNING runs whose heartbeat is older than ``stale_before_ms`` to CRASHED."""
        stale = (
            t.runs.c.status == RunStatus.RUNNING.value,
            t.runs.c.heartbeat_ms.is_not(None),
            t.runs.c.heartbeat_ms < stale_before_ms,
        )
        with self._db.read() as conn:  # the common case (nothing stale) takes no write lock
            if conn.execute(select(t.runs.c.id).where(*stale).limit(1)).first() is None:
                return []
        with self._db.write() as conn:
            ids = [r[0] for r in conn.execute(select(t.runs.c.id).where(*stale))]
            if ids:
                conn.execute(
                    update(t.runs)
                    .where(t.runs.c.id.in_(ids), *stale)
                    .values(
                        status=RunStatus.CRASHED.value,
                        ended_at_ms=t.runs.c.heartbeat_ms,
                        error="the process stopped sending heartbeats (killed or crashed)",
                    )
                )
            return ids

    def set_notes(self, run_id: str, notes: str) -> None:
        """Replace the free-text notes of a run."""
        with self._db.write() as conn:
            result = conn.execute(update(t.runs).where(t.runs.c.id == run_id).values(notes=notes))
            if result.rowcount == 0:
                raise NotFound("run", run_id)

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of one metric, ordered by step then time; NaN comes back as NaN."""
        query = (
            select(t.metrics.c.step, t.metrics.c.timestamp_ms, t.metrics.c.value)
            .where(t.metrics.c.run_id == run_id, t.metrics.c.key == key)
            .order_by(t.metrics.c.step, t.metrics.c.timestamp_ms)
        )
        with self._db.read() as conn:
            self._require(conn, run_id)
            return [
                Metric(key, math.nan if value is None else float(value), int(step), int(ts))
                for step, ts, value in conn.execute(query)
            ]

    @staticmethod
    def _require(conn: Connection, run_id: str) -> None:
        if conn.execute(select(t.runs.c.id).where(t.runs.c.id == run_id)).first() is None:
            raise NotFound("run", run_id)

    @staticmethod
    def _load(conn: Connection, run_id: str) -> Run:
        row = conn.execute(select(t.runs).where(t.runs.c.id == run_id)).mappings().first()
        if row is None:
            raise NotFound("run", run_id)
        params = dict(
            conn.execute(
                select(t.params.c.key, t.params.c.value).where(t.params.c.run_id == run_id)
            ).all()
        )
        tags = dict(
            conn.execute(
                select(t.tags.c.key, t.tags.c.value).where(t.tags.c.run_id == run_id)
            ).all()
        )
        return _to_run(row, params, tags)
