"""SQL implementation of :class:`~loopml.store.protocols.TriggerStore`.

State updates are compare-and-set on ``revision`` (two agents checking one trigger: one
wins, the other gets :class:`~loopml.errors.Conflict` and skips). Every write appends an
audit entry in the same transaction.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from loopml.entities.governance import state_digest
from loopml.entities.trigger import Trigger, TriggerEvent, TriggerEventKind, TriggerKind
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.ids import new_id
from loopml.store.sql import tables as t
from loopml.store.sql._time import now_ms
from loopml.store.sql.audit import audited

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import RowMapping

    from loopml.store.sql._engine import Database


def _dumps(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), sort_keys=True, default=str)


def _to_trigger(row: RowMapping) -> Trigger:
    budget = row["budget_per_day"]
    fired = row["last_fired_at_ms"]
    return Trigger(
        name=row["name"],
        kind=TriggerKind(row["kind"]),
        model=row["model"],
        condition=json.loads(row["condition_json"]),
        action=json.loads(row["action_json"]),
        debounce_s=float(row["debounce_s"]),
        cooldown_s=float(row["cooldown_s"]),
        budget_per_day=None if budget is None else int(budget),
        dry_run=bool(row["dry_run"]),
        enabled=bool(row["enabled"]),
        state=json.loads(row["state_json"]),
        last_fired_at_ms=None if fired is None else int(fired),
        created_at_ms=int(row["created_at_ms"]),
        created_by=row["created_by"],
        revision=int(row["revision"]),
        source=row["source"],
    )


def _to_event(row: RowMapping) -> TriggerEvent:
    return TriggerEvent(
        id=row["id"],
        trigger=row["trigger"],
        kind=TriggerEventKind(row["kind"]),
        at_ms=int(row["at_ms"]),
        chain_id=row["chain_id"],
        step=row["step"],
        status=row["status"],
        detail=json.loads(row["detail_json"]),
        actor=row["actor"],
    )


def _state(trigger: Trigger) -> dict[str, Any]:
    data = trigger.to_dict()
    for volatile in ("state", "last_fired_at_ms", "revision", "created_at_ms"):
        data.pop(volatile)
    return data


def _not_found(name: str) -> NotFound:
    return NotFound("trigger", name, hint="List the triggers with `loopml triggers list`.")


class SqlTriggerStore:
    """Trigger rules with a revision counter, and their events."""

    _db: Database

    def create_trigger(self, trigger: Trigger, *, actor: str) -> Trigger:
        """Store a new trigger at revision 1; Conflict if the name is taken."""
        if not trigger.name or len(trigger.name) > 255:
            raise InvalidInput(
                f"trigger name {trigger.name!r} must be 1-255 characters",
                hint="Name it after what it watches, e.g. `fraud-drift`.",
            )
        at = now_ms()
        try:
            with self._db.write() as conn:
                conn.execute(
                    insert(t.triggers).values(
                        name=trigger.name,
                        kind=TriggerKind(trigger.kind).value,
                        model=trigger.model,
                        condition_json=_dumps(trigger.condition),
                        action_json=_dumps(trigger.action),
                        debounce_s=float(trigger.debounce_s),
                        cooldown_s=float(trigger.cooldown_s),
                        budget_per_day=trigger.budget_per_day,
                        dry_run=bool(trigger.dry_run),
                        enabled=bool(trigger.enabled),
                        state_json=_dumps(trigger.state),
                        last_fired_at_ms=trigger.last_fired_at_ms,
                        created_at_ms=at,
                        created_by=actor,
                        revision=1,
                        source=trigger.source,
                    )
                )
                stored = _to_trigger(
                    conn.execute(select(t.triggers).where(t.triggers.c.name == trigger.name))
                    .mappings()
                    .one()
                )
                audited(
                    conn,
                    actor=actor,
                    action="trigger.create",
                    kind="trigger",
                    ident=trigger.name,
                    after=state_digest(_state(stored)),
                )
        except IntegrityError as exc:
            raise Conflict(
                f"trigger {trigger.name!r} exists already",
                hint="Pick another name, or remove it first with `loopml triggers remove`.",
                trigger=trigger.name,
            ) from exc
        return stored

    def get_trigger(self, name: str) -> Trigger:
        """Return a trigger; NotFound if absent."""
        with self._db.read() as conn:
            row = (
                conn.execute(select(t.triggers).where(t.triggers.c.name == name)).mappings().first()
            )
        if row is None:
            raise _not_found(name)
        return _to_trigger(row)

    def list_triggers(self) -> list[Trigger]:
        """Every trigger, by name."""
        with self._db.read() as conn:
            rows = conn.execute(select(t.triggers).order_by(t.triggers.c.name)).mappings().all()
        return [_to_trigger(r) for r in rows]

    def delete_trigger(self, name: str, *, actor: str) -> Trigger:
        """Remove a trigger (its events stay); NotFound if absent."""
        with self._db.write() as conn:
            row = (
                conn.execute(select(t.triggers).where(t.triggers.c.name == name)).mappings().first()
            )
            if row is None:
                raise _not_found(name)
            before = _to_trigger(row)
            conn.execute(delete(t.triggers).where(t.triggers.c.name == name))
            audited(
                conn,
                actor=actor,
                action="trigger.delete",
                kind="trigger",
                ident=name,
                before=state_digest(_state(before)),
            )
        return before

    def update_trigger(
        self,
        name: str,
        *,
        revision: int,
        actor: str,
        state: Mapping[str, Any] | None = None,
        last_fired_at_ms: int | None = None,
        enabled: bool | None = None,
    ) -> Trigger:
        """Change a trigger's state, last firing or enabled flag if ``revision`` is the
        stored one; returns it at the next revision.

        Raises:
            Conflict: Someone changed it since it was read.
            NotFound: No such trigger.
        """
        table = t.triggers
        values: dict[str, Any] = {"revision": revision + 1}
        if state is not None:
            values["state_json"] = _dumps(state)
        if last_fired_at_ms is not None:
            values["last_fired_at_ms"] = last_fired_at_ms
        if enabled is not None:
            values["enabled"] = enabled
        with self._db.write() as conn:
            current = conn.execute(select(table).where(table.c.name == name)).mappings().first()
            if current is None:
                raise _not_found(name)
            before = _to_trigger(current)
            moved = conn.execute(
                update(table)
                .where(table.c.name == name, table.c.revision == revision)
                .values(**values)
            ).rowcount
            if moved != 1:
                raise Conflict(
                    f"trigger {name!r} changed since it was read (revision {revision}, "
                    f"stored {before.revision})",
                    hint="Read it again and retry.",
                    trigger=name,
                )
            stored = _to_trigger(
                conn.execute(select(table).where(table.c.name == name)).mappings().one()
            )
            if enabled is not None and enabled != before.enabled:
                audited(
                    conn,
                    actor=actor,
                    action="trigger.enable" if enabled else "trigger.disable",
                    kind="trigger",
                    ident=name,
                    before=state_digest(_state(before)),
                    after=state_digest(_state(stored)),
                )
        return stored

    def add_trigger_event(self, event: TriggerEvent, *, actor: str) -> TriggerEvent:
        """Record one trigger event (its ``id`` and ``at_ms`` are set when empty)."""
        stored = TriggerEvent(
            id=event.id or new_id(),
            trigger=event.trigger,
            kind=TriggerEventKind(event.kind),
            at_ms=event.at_ms or now_ms(),
            chain_id=event.chain_id,
            step=event.step,
            status=event.status,
            detail=dict(event.detail),
            actor=actor,
        )
        with self._db.write() as conn:
            conn.execute(
                insert(t.trigger_events).values(
                    id=stored.id,
                    trigger=stored.trigger,
                    kind=stored.kind.value,
                    chain_id=stored.chain_id,
                    step=stored.step,
                    status=stored.status,
                    detail_json=_dumps(stored.detail),
                    actor=actor,
                    at_ms=stored.at_ms,
                )
            )
            audited(
                conn,
                actor=actor,
                action=f"trigger.{stored.kind.value}",
                kind="trigger_event",
                ident=stored.id,
                detail={"trigger": stored.trigger, "step": stored.step, "status": stored.status},
            )
        return stored

    def list_trigger_events(
        self,
        *,
        trigger: str | None = None,
        chain_id: str | None = None,
        kind: TriggerEventKind | str | None = None,
        since_ms: int | None = None,
        limit: int | None = None,
    ) -> list[TriggerEvent]:
        """Trigger events, oldest first (``limit``: the newest that many)."""
        events = t.trigger_events
        query = select(events)
        if trigger is not None:
            query = query.where(events.c.trigger == trigger)
        if chain_id is not None:
            query = query.where(events.c.chain_id == chain_id)
        if kind is not None:
            query = query.where(events.c.kind == TriggerEventKind(kind).value)
        if since_ms is not None:
            query = query.where(events.c.at_ms >= since_ms)
        query = query.order_by(events.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._db.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [_to_event(r) for r in reversed(rows)]

    def count_trigger_events(
        self, trigger: str, kind: TriggerEventKind | str, *, since_ms: int
    ) -> int:
        """How many events of ``kind`` ``trigger`` recorded at or after ``since_ms``."""
        events = t.trigger_events
        with self._db.read() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(events)
                    .where(
                        events.c.trigger == trigger,
                        events.c.kind == TriggerEventKind(kind).value,
                        events.c.at_ms >= since_ms,
                    )
                ).scalar_one()
            )
