"""Schema versions: check on open, upgrade when allowed, refuse a newer schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, text

import loopml.store.migrations as migrations_pkg
from loopml.errors import SchemaTooNew, StoreError
from loopml.store.sql._engine import Database, safe_url

_PG_MIGRATION_LOCK = 0x6C6F6F706D6C  # "loopml": serialises concurrent upgrades


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands against the migrations this code ships.

    Revisions are comma-joined when the tree has several heads (parallel branches not yet
    merged); ``None`` means an empty database.
    """

    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        """True when the database is at every head revision."""
        return self.current == self.head


def _config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations_pkg.__file__).parent))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def _joined(revisions: tuple[str, ...] | list[str]) -> str | None:
    return ",".join(sorted(revisions)) or None


def head_revision() -> str:
    """The newest revision(s) this code knows (comma-joined if the tree has several heads)."""
    head = _joined(ScriptDirectory.from_config(_config()).get_heads())
    assert head is not None, "the migration tree has no head"
    return head


def _state(conn: Connection, url: str) -> SchemaState:
    currents = MigrationContext.configure(conn).get_current_heads()
    script = ScriptDirectory.from_config(_config())
    head = head_revision()
    current = _joined(currents)
    for revision in currents:
        try:
            known = script.get_revision(revision)
        except CommandError:
            known = None
        if known is None:
            raise SchemaTooNew(
                f"the metadata store {safe_url(url)} is at schema revision {current!r}, "
                f"newer than this loopml understands (newest known: {head!r})",
                hint="Upgrade loopml (pip install -U loopml) to the version that migrated it.",
                current=current,
                head=head,
            )
    return SchemaState(current=current, head=head)


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})


def schema_state(db: Database) -> SchemaState:
    """Read the database's revision; SchemaTooNew if it is unknown to this code."""
    with db.read() as conn:
        return _state(conn, db.url)


def upgrade(db: Database) -> tuple[str | None, str]:
    """Upgrade the schema to head, serialised against concurrent upgraders.

    Returns:
        The revision before and after.
    """
    with db.write() as conn:
        _lock(conn)
        state = _state(conn, db.url)
        if not state.up_to_date:
            command.upgrade(_config(conn), "heads")
        return state.current, state.head


def ensure_schema(db: Database, *, migrate: bool) -> None:
    """Make sure the schema is at head: upgrade if ``migrate``, else explain what to run.

    Raises:
        SchemaTooNew: The database was migrated by a newer loopml.
        StoreError: The schema is older and ``migrate`` is False.
    """
    state = schema_state(db)
    if state.up_to_date:
        return
    if migrate:
        upgrade(db)
        return
    found = "an empty database" if state.current is None else f"revision {state.current!r}"
    raise StoreError(
        f"the metadata store {safe_url(db.url)} holds {found}; this loopml needs "
        f"revision {state.head!r}",
        hint="Run `loopml db upgrade` once (shared databases are never migrated implicitly).",
        current=state.current,
        head=state.head,
    )
