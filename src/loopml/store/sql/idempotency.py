"""The server's record of answered writes, by Idempotency-Key (not part of ``Store``).

The server claims a key before it runs a write, stores the answer after, and answers a
replay of the key from the record, so a client's retry never makes a second run or
version. Records older than :data:`KEEP_MS` are pruned as new keys are claimed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from loopml.store.sql import tables as t
from loopml.store.sql._time import now_ms

if TYPE_CHECKING:
    from loopml.store.sql._engine import Database

#: How long an answer is kept for replays (24 h).
KEEP_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class IdempotentAnswer:
    """A claimed key: ``status`` is None while the first request is still running."""

    operation: str
    status: int | None
    body: str | None


class SqlIdempotencyStore:
    """Claim, finish and release Idempotency-Keys (mixed into SqlStore)."""

    _db: Database

    def claim_idempotency_key(
        self, key: str, actor: str, operation: str
    ) -> IdempotentAnswer | None:
        """Claim ``key`` for ``actor``: None when claimed now, else the earlier record."""
        now = now_ms()
        try:
            with self._db.write() as conn:
                conn.execute(
                    delete(t.idempotency_keys).where(
                        t.idempotency_keys.c.created_at_ms < now - KEEP_MS
                    )
                )
                conn.execute(
                    insert(t.idempotency_keys).values(
                        key=key, actor=actor, operation=operation, created_at_ms=now
                    )
                )
            return None
        except IntegrityError:
            pass
        with self._db.read() as conn:
            row = (
                conn.execute(
                    select(t.idempotency_keys).where(
                        t.idempotency_keys.c.key == key, t.idempotency_keys.c.actor == actor
                    )
                )
                .mappings()
                .first()
            )
        if row is None:  # pruned between the two statements: claim again
            return self.claim_idempotency_key(key, actor, operation)
        return IdempotentAnswer(row["operation"], row["status"], row["body"])

    def finish_idempotency_key(self, key: str, actor: str, status: int, body: str) -> None:
        """Record the answer of a claimed key."""
        with self._db.write() as conn:
            conn.execute(
                update(t.idempotency_keys)
                .where(t.idempotency_keys.c.key == key, t.idempotency_keys.c.actor == actor)
                .values(status=status, body=body)
            )

    def release_idempotency_key(self, key: str, actor: str) -> None:
        """Forget a claimed key (its request failed; a retry runs it again)."""
        with self._db.write() as conn:
            conn.execute(
                delete(t.idempotency_keys).where(
                    t.idempotency_keys.c.key == key, t.idempotency_keys.c.actor == actor
                )
            )
