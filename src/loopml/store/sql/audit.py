"""Appending to the Merkle audit log inside the caller's transaction.

:func:`append_audit_in` is what every audited store write calls with its own connection,
so an entry commits or rolls back together with the change it records. The single
``audit_head`` row holds the log's size and frontier; appenders lock it (``SELECT ... FOR
UPDATE`` on PostgreSQL; a SQLite write transaction is exclusive already), and the primary
key on ``leaf_index`` refuses a second leaf at the same position should anything get past
the lock.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, insert, select, update

from loopml.entities import AuditEntry, AuditEvent, Outcome
from loopml.entities.governance import encode_leaf, frontier_root, leaf_hash, push_leaf
from loopml.errors import Conflict
from loopml.store.sql import tables as t
from loopml.store.sql._engine import upsert_insert
from loopml.store.sql._time import now_ms

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

_SOURCE: ContextVar[str] = ContextVar("loopml_audit_source", default="local")


@contextmanager
def audit_source(source: str) -> Iterator[str]:
    """Record ``source`` (``"cli"``, a client address...) as "from where" of audit entries
    appended inside the block."""
    token = _SOURCE.set(source)
    try:
        yield source
    finally:
        _SOURCE.reset(token)


def current_audit_source() -> str:
    """The "from where" of entries appended now (``"local"`` unless set)."""
    return _SOURCE.get()


def _head(conn: Connection) -> tuple[int, list[bytes]]:
    query = select(t.audit_head.c.size, t.audit_head.c.frontier_json).where(t.audit_head.c.id == 1)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        conn.execute(
            upsert_insert(conn.dialect.name, t.audit_head)
            .values(id=1, size=0, frontier_json="[]")
            .on_conflict_do_nothing()
        )
        row = conn.execute(query).one()
    return int(row[0]), [bytes.fromhex(h) for h in json.loads(row[1])]


def append_audit_in(conn: Connection, entry: AuditEntry) -> AuditEvent:
    """Append ``entry`` as the next leaf, in the transaction of ``conn``.

    Raises:
        Conflict: Another writer took the position (the caller's transaction rolls back).
    """
    if entry.source == "local":
        source = current_audit_source()
        if source != "local":
            entry = replace(entry, source=source)
    size, frontier = _head(conn)
    prev_root = frontier_root(frontier).hex()
    at = now_ms()
    digest = leaf_hash(encode_leaf(size, at, entry, prev_root))
    conn.execute(
        insert(t.audit_events).values(
            leaf_index=size,
            at_ms=at,
            actor=entry.actor,
            action=entry.action,
            object_kind=entry.object_kind,
            object_id=entry.object_id,
            source=entry.source,
            before_digest=entry.before,
            after_digest=entry.after,
            outcome=str(entry.outcome),
            detail_json=json.dumps(dict(entry.detail), sort_keys=True, default=str),
            prev_root=prev_root,
            leaf_hash=digest.hex(),
        )
    )
    moved = conn.execute(
        update(t.audit_head)
        .where(t.audit_head.c.id == 1, t.audit_head.c.size == size)
        .values(
            size=size + 1,
            frontier_json=json.dumps([h.hex() for h in push_leaf(frontier, size, digest)]),
        )
    ).rowcount
    if moved != 1:
        raise Conflict(
            f"audit log position {size} was taken by a concurrent writer",
            hint="Retry the operation.",
        )
    return AuditEvent(size, at, entry, prev_root, digest.hex())


def audited(
    conn: Connection,
    *,
    actor: str,
    action: str,
    kind: str,
    ident: str,
    before: str | None = None,
    after: str | None = None,
    detail: Mapping[str, Any] | None = None,
    outcome: Outcome = Outcome.OK,
) -> AuditEvent:
    """Shorthand for :func:`append_audit_in` with the entry's fields as keywords."""
    return append_audit_in(
        conn,
        AuditEntry(
            actor=actor,
            action=action,
            object_kind=kind,
            object_id=ident,
            before=before,
            after=after,
            outcome=outcome,
            detail=dict(detail or {}),
        ),
    )


def _outcome(text: str) -> Outcome:
    try:
        return Outcome(text)
    except ValueError:
        return cast("Outcome", text)


def _detail(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"unreadable": text}
    return value if isinstance(value, dict) else {"unreadable": text}


def row_to_event(row: Any) -> AuditEvent:
    """An :class:`AuditEvent` from an ``audit_events`` row mapping."""
    return AuditEvent(
        index=int(row["leaf_index"]),
        at_ms=int(row["at_ms"]),
        entry=AuditEntry(
            actor=row["actor"],
            action=row["action"],
            object_kind=row["object_kind"],
            object_id=row["object_id"],
            source=row["source"],
            before=row["before_digest"],
            after=row["after_digest"],
            # A tampered row still reads back (its leaf hash then fails verification).
            outcome=_outcome(row["outcome"]),
            detail=_detail(row["detail_json"]),
        ),
        prev_root=row["prev_root"],
        leaf_hash=row["leaf_hash"],
    )
