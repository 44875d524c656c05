"""A fresh SqlStore on SQLite and on PostgreSQL for every governance test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from loopml.store.sql import SqlStore
from loopml.store.sql.tables import metadata


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        with SqlStore(f"sqlite:///{tmp_path / 'loopml.db'}") as db:
            yield db
        return
    url = request.getfixturevalue("pg_session_url")
    with SqlStore(url, migrate=True) as db:
        yield db
        with db.database.write() as conn:
            names = ", ".join(table.name for table in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
