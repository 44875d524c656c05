"""The metadata store on SQLite or PostgreSQL (SQLAlchemy 2 Core + Alembic)."""

from loopml.store.sql._engine import Database, open_database, safe_url
from loopml.store.sql._migrate import SchemaState, head_revision, schema_state, upgrade
from loopml.store.sql._store import SqlStore

__all__ = [
    "Database",
    "SchemaState",
    "SqlStore",
    "head_revision",
    "open_database",
    "safe_url",
    "schema_state",
    "upgrade",
]
