"""SQL implementation of :class:`~loopml.store.protocols.MonitorStore`."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from loopml.entities import MonitorWindow
from loopml.errors import InvalidInput, NotFound
from loopml.ids import check_digest
from loopml.store.sql import tables as t
from loopml.store.sql._engine import upsert_insert
from loopml.store.sql._time import now_ms
from loopml.store.sql.audit import audited
from loopml.store.sql.lineage import edge_rows, insert_edges

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import RowMapping

    from loopml.entities import LineageEdge
    from loopml.store.sql._engine import Database

_CHUNK = 900


def _to_window(row: RowMapping) -> MonitorWindow:
    return MonitorWindow(
        id=row["id"],
        scope=row["scope"],
        plan=row["plan"],
        start_ms=int(row["start_ms"]),
        end_ms=int(row["end_ms"]),
        rows=int(row["rows"]),
        complete=bool(row["complete"]),
        drifted=bool(row["drifted"]),
        drift=json.loads(row["drift_json"]),
        realised=json.loads(row["realised_json"]),
        estimated=json.loads(row["estimated_json"]),
        labelled=int(row["labelled"]),
        model=row["model"],
        version=None if row["version"] is None else int(row["version"]),
        deployment=row["deployment"],
        report_digest=row["report_digest"],
        created_at_ms=int(row["created_at_ms"]),
        updated_at_ms=int(row["updated_at_ms"]),
    )


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"the monitor window's {what} is not JSON: {exc}",
            hint="Use numbers, strings, booleans and null (no NaN).",
        ) from exc


class SqlMonitorStore:
    """Monitor windows and per-segment sketches in two SQL tables."""

    _db: Database

    def put_monitor_window(
        self, window: MonitorWindow, *, actor: str, edges: Sequence[LineageEdge] = ()
    ) -> MonitorWindow:
        """Upsert a window by (scope, plan, start), with its edges and an audit entry."""
        if not window.scope or not window.plan:
            raise InvalidInput(
                "a monitor window needs a scope and a plan",
                hint="scope: deployment:NAME or model:NAME; plan: e.g. 1000 or 1h.",
            )
        if window.report_digest is not None:
            check_digest(window.report_digest)
        stamp = now_ms()
        values: dict[str, Any] = {
            "end_ms": window.end_ms,
            "rows": window.rows,
            "complete": int(window.complete),
            "drifted": int(window.drifted),
            "drift_json": _json(window.drift, "drift"),
            "realised_json": _json(window.realised, "realised metrics"),
            "estimated_json": _json(window.estimated, "estimated metrics"),
            "labelled": window.labelled,
            "model": window.model,
            "version": window.version,
            "deployment": window.deployment,
            "report_digest": window.report_digest,
            "updated_at_ms": stamp,
        }
        rows = edge_rows(edges)
        w = t.monitor_windows
        with self._db.write() as conn:
            slot = (
                conn.execute(
                    select(w.c.id, w.c.created_at_ms).where(
                        w.c.scope == window.scope,
                        w.c.plan == window.plan,
                        w.c.start_ms == window.start_ms,
                    )
                )
                .mappings()
                .first()
            )
            if slot is None:
                ident, created = window.id, window.created_at_ms or stamp
                conn.execute(
                    w.insert().values(
                        id=ident,
                        scope=window.scope,
                        plan=window.plan,
                        start_ms=window.start_ms,
                        created_at_ms=created,
                        **values,
                    )
                )
            else:
                ident, created = slot["id"], int(slot["created_at_ms"])
                conn.execute(update(w).where(w.c.id == ident).values(**values))
            insert_edges(conn, rows)
            audited(
                conn,
                actor=actor,
                action="monitor.window" if slot is None else "monitor.window.update",
                kind="monitor_window",
                ident=ident,
                detail={
                    "scope": window.scope,
                    "plan": window.plan,
                    "start_ms": window.start_ms,
                    "drifted": window.drifted,
                },
            )
        return replace(window, id=ident, created_at_ms=created, updated_at_ms=stamp)

    def get_monitor_window(self, window_id: str) -> MonitorWindow:
        """Return one window; NotFound if absent."""
        with self._db.read() as conn:
            query = select(t.monitor_windows).where(t.monitor_windows.c.id == window_id)
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound("monitor window", window_id)
        return _to_window(row)

    def list_monitor_windows(
        self,
        *,
        scope: str | None = None,
        plan: str | None = None,
        since_ms: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[MonitorWindow]:
        """Windows by start time (oldest first unless ``newest_first``)."""
        w = t.monitor_windows
        query = select(w)
        if scope is not None:
            query = query.where(w.c.scope == scope)
        if plan is not None:
            query = query.where(w.c.plan == plan)
        if since_ms is not None:
            query = query.where(w.c.end_ms > since_ms)
        if newest_first:
            query = query.order_by(w.c.start_ms.desc(), w.c.id.desc())
        else:
            query = query.order_by(w.c.start_ms, w.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self._db.read() as conn:
            return [_to_window(r) for r in conn.execute(query).mappings()]

    def put_monitor_sketch(self, segment_id: str, key: str, body: str) -> None:
        """Cache one segment's sketch under ``key``; an existing one is kept."""
        with self._db.write() as conn:
            stmt = upsert_insert(conn.dialect.name, t.monitor_sketches).values(
                segment_id=segment_id, key=key, body=body, created_at_ms=now_ms()
            )
            conn.execute(stmt.on_conflict_do_nothing())

    def get_monitor_sketches(self, segment_ids: Sequence[str], key: str) -> dict[str, str]:
        """The cached sketches of ``segment_ids`` under ``key``."""
        s = t.monitor_sketches
        unique = list(dict.fromkeys(segment_ids))
        out: dict[str, str] = {}
        with self._db.read() as conn:
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                query = select(s.c.segment_id, s.c.body).where(
                    s.c.key == key, s.c.segment_id.in_(chunk)
                )
                out.update({r.segment_id: r.body for r in conn.execute(query)})
        return out
