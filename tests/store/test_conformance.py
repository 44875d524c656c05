"""The Store conformance suite against SqlStore on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from loopml.store.sql import SqlStore
from loopml.store.sql.tables import metadata
from loopml.testing import StoreConformance


class TestSqliteStore(StoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqlStore]:
        with SqlStore(f"sqlite:///{tmp_path / 'loopml.db'}") as store:
            yield store


@pytest.mark.postgres
class TestPostgresStore(StoreConformance):
    @pytest.fixture
    def store(self, pg_session_url: str) -> Iterator[SqlStore]:
        with SqlStore(pg_session_url, migrate=True) as store:
            yield store
            with store.database.write() as conn:
                names = ", ".join(table.name for table in metadata.sorted_tables)
                conn.execute(text(f"TRUNCATE {names} CASCADE"))
