"""Migrations: empty -> head on both databases, tables match, a newer schema is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from loopml.errors import SchemaTooNew, StoreError
from loopml.store.sql import (
    SchemaState,
    SqlStore,
    head_revision,
    open_database,
    schema_state,
    upgrade,
)
from loopml.store.sql._migrate import HEAD, _config, script_heads
from loopml.store.sql.tables import metadata


def _urls(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'loopml.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    return _urls(tmp_path, request)


def test_empty_to_head_creates_every_table(empty_url: str) -> None:
    db = open_database(empty_url)
    try:
        assert schema_state(db).current is None
        before, after = upgrade(db)
        assert (before, after) == (None, head_revision())
        assert schema_state(db).up_to_date
        assert upgrade(db) == (head_revision(), head_revision())
        found = inspect(db.engine)
        for table in metadata.sorted_tables:
            columns = {c["name"] for c in found.get_columns(table.name)}
            assert columns == {c.name for c in table.columns}, table.name
            indexes = {i["name"] for i in found.get_indexes(table.name)}
            assert {i.name for i in table.indexes} <= indexes, table.name
    finally:
        db.dispose()


def test_newer_schema_is_refused(empty_url: str) -> None:
    SqlStore(empty_url, migrate=True).close()
    db = open_database(empty_url)
    with db.write() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    db.dispose()
    with pytest.raises(SchemaTooNew) as info:
        SqlStore(empty_url, migrate=True)
    assert "9999_from_the_future" in str(info.value)
    assert "Upgrade loopml" in (info.value.hint or "")


def test_shared_database_is_not_migrated_implicitly(empty_url: str) -> None:
    with pytest.raises(StoreError) as info:
        SqlStore(empty_url, migrate=False)
    assert "loopml db upgrade" in (info.value.hint or "")


def test_head_constant_is_the_migration_trees_head() -> None:
    # The open-time check compares the database with HEAD without loading Alembic; a new
    # migration that does not move HEAD would leave every store "up to date" and unmigrated.
    assert head_revision() == script_heads()


def _migrate_with_alembic(url: str, target: str) -> None:
    from alembic import command

    db = open_database(url)
    try:
        with db.write() as conn:
            command.upgrade(_config(conn), target)
    finally:
        db.dispose()


def test_fresh_schema_equals_the_migrated_one(tmp_path: Path, empty_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    migrated = f"sqlite:///{tmp_path / 'migrated.db'}"
    _migrate_with_alembic(migrated, "heads")
    SqlStore(empty_url, migrate=True).close()  # an empty database: tables made at head
    for url in (migrated, empty_url):
        db = open_database(url)
        try:
            with db.read() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                assert compare_metadata(context, metadata) == [], url
            assert schema_state(db).current == HEAD
        finally:
            db.dispose()


def test_an_older_schema_is_migrated_by_alembic(empty_url: str) -> None:
    _migrate_with_alembic(empty_url, "0004_pipelines")
    store = SqlStore(empty_url, migrate=True)
    try:
        assert schema_state(store.database) == SchemaState(HEAD, HEAD)
        store.create_run(name="after-upgrade")
    finally:
        store.close()
