"""The server's record of answered writes, by Idempotency-Key (not part of ``Store``).

:meth:`SqlIdempotencyStore.idempotent_write` claims a key, runs the write and records its
answer in ONE database transaction (the write's own statements join it, see
:meth:`~loopml.store.sql._engine.Database.transaction`), so a crash at any point leaves
either the write and its answer or neither: a client's retry then replays the answer or
runs the write once. Records older than :data:`KEEP_MS` are pruned as new keys are claimed.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from loopml.store.sql import tables as t
from loopml.store.sql._time import now_ms

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Connection

    from loopml.store.sql._engine import Database

#: How long an answer is kept for replays (24 h).
KEEP_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class IdempotentAnswer:
    """A claimed key: ``status`` is None while the first request is still running."""

    operation: str
    status: int | None
    body: str | None


@dataclass
class IdempotentWrite:
    """The key of a write in progress: ``earlier`` is the recorded answer of a replay
    (the write must not run again); else run the write and :meth:`answer`."""

    key: str
    actor: str
    earlier: IdempotentAnswer | None
    _conn: Connection = field(repr=False)

    def answer(self, status: int, body: str) -> None:
        """Record the write's answer (it commits with the write)."""
        self._conn.execute(
            update(t.idempotency_keys)
            .where(t.idempotency_keys.c.key == self.key, t.idempotency_keys.c.actor == self.actor)
            .values(status=status, body=body)
        )


def _row(conn: Connection, key: str, actor: str) -> IdempotentAnswer | None:
    c = t.idempotency_keys.c
    row = (
        conn.execute(select(t.idempotency_keys).where(c.key == key, c.actor == actor))
        .mappings()
        .first()
    )
    return None if row is None else IdempotentAnswer(row["operation"], row["status"], row["body"])


class SqlIdempotencyStore:
    """Idempotency-Keys of the server's writes (mixed into SqlStore)."""

    _db: Database

    @contextmanager
    def idempotent_write(self, key: str, actor: str, operation: str) -> Iterator[IdempotentWrite]:
        """Claim ``key`` and run the block's write in the same transaction as the claim.

        Every store read and write inside the block joins the transaction. A block that
        ends normally commits the write together with the answer it recorded; one that
        raises an ``Exception`` commits what completed before the error but not the key
        (a retry runs again, as a failed write's would), then re-raises; a crash commits
        nothing. When ``earlier`` is set the key was answered before: replay it.
        """
        now = now_ms()
        failure: Exception | None = None
        with self._db.transaction() as conn:
            conn.execute(
                delete(t.idempotency_keys).where(t.idempotency_keys.c.created_at_ms < now - KEEP_MS)
            )
            earlier: IdempotentAnswer | None = None
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(t.idempotency_keys).values(
                            key=key, actor=actor, operation=operation, created_at_ms=now
                        )
                    )
            except IntegrityError:
                earlier = _row(conn, key, actor)
            call = IdempotentWrite(key, actor, earlier, conn)
            try:
                yield call
            except Exception as exc:
                if earlier is None:
                    conn.execute(
                        delete(t.idempotency_keys).where(
                            t.idempotency_keys.c.key == key, t.idempotency_keys.c.actor == actor
                        )
                    )
                failure = exc
        if failure is not None:
            raise failure
