"""Schema versions: check on open, upgrade when allowed, refuse a newer schema.

The check on open reads the ``alembic_version`` row with plain SQLAlchemy and compares it
with :data:`HEAD`, the head revision this code ships (a test keeps the constant equal to
the migration tree's head). Alembic, a quarter of a second of imports, loads only when
the two differ: to migrate, or to tell an older schema from a newer one. An empty
database gets the tables of :mod:`loopml.store.sql.tables` in one transaction and is
stamped at head, as Alembic's own recipe does; a test checks that this schema and the
migrated one do not differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table, inspect, text

import loopml.store.migrations as migrations_pkg
from loopml.errors import SchemaTooNew, StoreError
from loopml.store.sql._engine import Database, safe_url

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

HEAD = "0015_step_logs"
"""The newest revision of the migration tree (comma-joined if it ever has several heads)."""

_PG_MIGRATION_LOCK = 0x6C6F6F706D6C  # "loopml": serialises concurrent upgraders
_VERSION_TABLE = "alembic_version"

# Alembic's own definition of its version table, so a stamped database is one it reads.
_version = Table(
    _VERSION_TABLE,
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


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


def head_revision() -> str:
    """The newest revision(s) this code knows (comma-joined if the tree has several heads)."""
    return HEAD


def script_heads() -> str:
    """The head revision(s) read from the migration scripts themselves (imports Alembic)."""
    from alembic.script import ScriptDirectory

    return ",".join(sorted(ScriptDirectory.from_config(_config()).get_heads()))


def _config(conn: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations_pkg.__file__).parent))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def _recorded(conn: Connection) -> str | None:
    """The revision(s) in the version table, comma-joined; None for no table or no row."""
    if not inspect(conn).has_table(_VERSION_TABLE):
        return None
    rows = conn.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalars().all()
    return ",".join(sorted(rows)) or None


def _check_known(conn: Connection, url: str) -> SchemaState:
    """The state of a database that is not at head; SchemaTooNew if it is ahead of us."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    if script_heads() != HEAD:  # a release that forgot to move HEAD must not migrate
        raise StoreError(
            f"loopml's HEAD revision {HEAD!r} differs from its migrations' {script_heads()!r}",
            hint="This is a packaging bug in loopml; please report it.",
        )
    currents = MigrationContext.configure(conn).get_current_heads()
    script = ScriptDirectory.from_config(_config())
    current = ",".join(sorted(currents)) or None
    for revision in currents:
        try:
            known = script.get_revision(revision)
        except CommandError:
            known = None
        if known is None:
            raise SchemaTooNew(
                f"the metadata store {safe_url(url)} is at schema revision {current!r}, "
                f"newer than this loopml understands (newest known: {HEAD!r})",
                hint="Upgrade loopml (pip install -U loopml) to the version that migrated it.",
                current=current,
                head=HEAD,
            )
    return SchemaState(current=current, head=HEAD)


def _state(conn: Connection, url: str) -> SchemaState:
    current = _recorded(conn)
    if current is None or current == HEAD:
        return SchemaState(current=current, head=HEAD)
    return _check_known(conn, url)


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})


def _is_empty(conn: Connection) -> bool:
    from loopml.store.sql.tables import metadata

    existing = set(inspect(conn).get_table_names())
    return not existing & ({_VERSION_TABLE} | set(metadata.tables))


def _create_at_head(conn: Connection) -> None:
    from loopml.store.sql.tables import metadata

    metadata.create_all(conn)
    _version.create(conn)
    conn.execute(_version.insert(), [{"version_num": rev} for rev in HEAD.split(",")])


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
        if _is_empty(conn):
            _create_at_head(conn)
            return None, HEAD
        state = _state(conn, db.url)
        if not state.up_to_date:
            from alembic import command

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
