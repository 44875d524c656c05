"""The one Alembic migration tree for SQLite and PostgreSQL (see ``loopml db upgrade``)."""
