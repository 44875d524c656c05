"""SQL implementation of :class:`~loopml.store.protocols.AlertStore`.

An alert is inserted firing, with its lineage edges (window -> alert) and an audit entry
in one transaction; resolving it is a compare-and-set on ``state = 'firing'``, so two
evaluators cannot resolve it twice. NaN values are stored as null.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from loopml.entities.alert import Alert, AlertSeverity, AlertState
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.store.sql import tables as t
from loopml.store.sql.audit import audited
from loopml.store.sql.lineage import edge_rows, insert_edges

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Connection, RowMapping

    from loopml.entities import LineageEdge
    from loopml.store.sql._engine import Database


def _num(value: float | None) -> float | None:
    return None if value is None or math.isnan(float(value)) else float(value)


def _to_alert(row: RowMapping) -> Alert:
    return Alert(
        id=row["id"],
        rule=row["rule"],
        kind=row["kind"],
        state=AlertState(row["state"]),
        severity=AlertSeverity(row["severity"]),
        subject=row["subject"],
        value=math.nan if row["value"] is None else float(row["value"]),
        bound=math.nan if row["bound"] is None else float(row["bound"]),
        deployment=row["deployment"],
        model=row["model"],
        version=None if row["version"] is None else int(row["version"]),
        window_id=row["window_id"],
        fired_at_ms=int(row["fired_at"]),
        resolved_at_ms=None if row["resolved_at"] is None else int(row["resolved_at"]),
        message=row["message"],
    )


def _state(value: AlertState | str) -> AlertState:
    try:
        return AlertState(value)
    except ValueError:
        raise InvalidInput(
            f"alert state {value!r} is not one of {', '.join(s.value for s in AlertState)}",
            hint="Use `firing` or `resolved`.",
        ) from None


class SqlAlertStore:
    """Alerts in one SQL table."""

    _db: Database

    def _alert_row(self, conn: Connection, alert_id: str) -> RowMapping:
        row = conn.execute(select(t.alerts).where(t.alerts.c.id == alert_id)).mappings().first()
        if row is None:
            raise NotFound("alert", alert_id)
        return row

    def add_alert(self, alert: Alert, *, actor: str, edges: Sequence[LineageEdge] = ()) -> Alert:
        """Store a firing alert with its lineage and an audit entry, in one transaction."""
        if not alert.rule or len(alert.rule) > 255:
            raise InvalidInput(f"alert rule name {alert.rule!r} must be 1-255 characters")
        rows = edge_rows(edges)
        state = _state(alert.state)
        try:
            with self._db.write() as conn:
                conn.execute(
                    insert(t.alerts).values(
                        id=alert.id,
                        rule=alert.rule,
                        kind=str(alert.kind),
                        state=state.value,
                        severity=AlertSeverity(alert.severity).value,
                        subject=alert.subject,
                        value=_num(alert.value),
                        bound=_num(alert.bound),
                        window_id=alert.window_id,
                        deployment=alert.deployment,
                        model=alert.model,
                        version=alert.version,
                        fired_at=alert.fired_at_ms,
                        resolved_at=alert.resolved_at_ms,
                        message=alert.message,
                        created_by=actor,
                    )
                )
                insert_edges(conn, rows)
                audited(
                    conn,
                    actor=actor,
                    action="alert.fire",
                    kind="alert",
                    ident=alert.id,
                    detail={
                        "rule": alert.rule,
                        "severity": str(alert.severity),
                        "deployment": alert.deployment,
                        "value": _num(alert.value),
                        "bound": _num(alert.bound),
                    },
                )
                return _to_alert(self._alert_row(conn, alert.id))
        except IntegrityError as exc:
            raise Conflict(
                f"alert {alert.id!r} is stored already",
                hint="Each alert is stored once; resolve it with resolve_alert.",
            ) from exc

    def resolve_alert(self, alert_id: str, *, actor: str, resolved_at_ms: int) -> Alert:
        """Mark a firing alert resolved (compare-and-set on its state)."""
        with self._db.write() as conn:
            self._alert_row(conn, alert_id)
            moved = conn.execute(
                update(t.alerts)
                .where(t.alerts.c.id == alert_id, t.alerts.c.state == AlertState.FIRING.value)
                .values(state=AlertState.RESOLVED.value, resolved_at=resolved_at_ms)
            ).rowcount
            if moved != 1:
                raise Conflict(
                    f"alert {alert_id!r} is resolved already",
                    hint="Only a firing alert can be resolved.",
                )
            audited(conn, actor=actor, action="alert.resolve", kind="alert", ident=alert_id)
            return _to_alert(self._alert_row(conn, alert_id))

    def get_alert(self, alert_id: str) -> Alert:
        """Return one alert; NotFound if absent."""
        with self._db.read() as conn:
            return _to_alert(self._alert_row(conn, alert_id))

    def list_alerts(
        self,
        *,
        state: AlertState | str | None = None,
        deployment: str | None = None,
        rule: str | None = None,
        since_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Alert]:
        """Alerts matching every filter given, newest first."""
        a = t.alerts
        query = select(a)
        if state is not None:
            query = query.where(a.c.state == _state(state).value)
        if deployment is not None:
            query = query.where(a.c.deployment == deployment)
        if rule is not None:
            query = query.where(a.c.rule == rule)
        if since_ms is not None:
            query = query.where(a.c.fired_at >= since_ms)
        query = query.order_by(a.c.fired_at.desc(), a.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._db.read() as conn:
            return [_to_alert(r) for r in conn.execute(query).mappings()]
