"""The metric fast path: batched appends of plain rows, latest values, summaries.

Points go in with the driver's bulk path inside one transaction: ``executemany`` of one
prepared INSERT on SQLite, ``COPY ... FROM STDIN`` on PostgreSQL. SQLAlchemy's per-row
parameter processing is skipped on purpose: rows arrive as validated tuples from the
tracking writer, and at 100,000 points a second the per-row overhead is the whole budget.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from loopml.entities import MetricSummary
from loopml.errors import NotFound
from loopml.store.sql import tables as t

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loopml.store.protocols import MetricRow
    from loopml.store.sql._engine import Database

_COLUMNS = "run_id, key, step, timestamp_ms, value"
_UPSERT_LATEST = (
    f"INSERT INTO latest_metrics ({_COLUMNS}) VALUES ({{p}}, {{p}}, {{p}}, {{p}}, {{p}}) "
    "ON CONFLICT (run_id, key) DO UPDATE SET step = excluded.step, "
    "timestamp_ms = excluded.timestamp_ms, value = excluded.value "
    "WHERE excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step "
    "AND excluded.timestamp_ms >= latest_metrics.timestamp_ms)"
)
_FK_VIOLATION = "23503"


def _latest(rows: Sequence[MetricRow]) -> list[MetricRow]:
    """The newest row (by step, then time) of each (run, key) in the batch."""
    best: dict[tuple[str, str], MetricRow] = {}
    get = best.get
    for row in rows:
        key = (row[0], row[1])
        seen = get(key)
        if seen is None or row[2] > seen[2] or (row[2] == seen[2] and row[3] >= seen[3]):
            best[key] = row
    return list(best.values())


class SqlRunMetrics:
    """Bulk metric appends and per-run metric summaries."""

    _db: Database

    def append_metric_rows(self, rows: Sequence[MetricRow]) -> None:
        """Append points of any runs in one transaction (all or none), keeping latest values.

        Raises:
            NotFound: A row names a run that does not exist (nothing is written).
        """
        if not rows:
            return
        latest = _latest(rows)
        try:
            with self._db.write() as conn:
                if self._db.dialect == "postgresql":
                    _copy_postgres(conn, rows)
                    conn.exec_driver_sql(_UPSERT_LATEST.format(p="%s"), latest)
                else:
                    sql = f"INSERT INTO metrics ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
                    conn.exec_driver_sql(sql, list(rows))
                    conn.exec_driver_sql(_UPSERT_LATEST.format(p="?"), latest)
        except IntegrityError as exc:
            raise self._missing_run({r[0] for r in latest}) from exc
        except Exception as exc:
            if getattr(exc, "sqlstate", None) == _FK_VIOLATION:  # raw psycopg error from COPY
                raise self._missing_run({r[0] for r in latest}) from exc
            raise

    def _missing_run(self, run_ids: set[str]) -> NotFound:
        with self._db.read() as conn:
            found = {
                r[0] for r in conn.execute(select(t.runs.c.id).where(t.runs.c.id.in_(run_ids)))
            }
        missing = sorted(run_ids - found) or sorted(run_ids)
        return NotFound("run", missing[0], hint="Log metrics only to runs that exist.")

    def metric_summaries(self, run_ids: Sequence[str]) -> list[MetricSummary]:
        """Latest value, min, max and point count of every metric of the given runs."""
        if not run_ids:
            return []
        m, lm = t.metrics, t.latest_metrics
        stats = (
            select(
                m.c.run_id,
                m.c.key,
                func.min(m.c.value).label("lo"),
                func.max(m.c.value).label("hi"),
                func.count().label("n"),
            )
            .where(m.c.run_id.in_(list(run_ids)))
            .group_by(m.c.run_id, m.c.key)
            .subquery()
        )
        query = (
            select(lm.c.run_id, lm.c.key, lm.c.value, lm.c.step, stats.c.lo, stats.c.hi, stats.c.n)
            .join(stats, (stats.c.run_id == lm.c.run_id) & (stats.c.key == lm.c.key))
            .order_by(lm.c.run_id, lm.c.key)
        )
        with self._db.read() as conn:
            return [
                MetricSummary(
                    run_id=run_id,
                    key=key,
                    latest=_float(value),
                    latest_step=int(step),
                    min=_float(lo),
                    max=_float(hi),
                    count=int(n),
                )
                for run_id, key, value, step, lo, hi, n in conn.execute(query)
            ]


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _copy_postgres(conn: Connection, rows: Sequence[MetricRow]) -> None:
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY metrics ({_COLUMNS}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)
