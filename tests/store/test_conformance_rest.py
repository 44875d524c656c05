"""The Store conformance suite against RestStore: a real server on loopback over SQLite
and over PostgreSQL (the production database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, text

from loopml.config import load_settings
from loopml.server import running_server
from loopml.store.rest import RestStore
from loopml.store.sql import SqlStore
from loopml.store.sql.tables import metadata
from loopml.testing import StoreConformance
from loopml.workspace import Workspace


def _serve(store: SqlStore, home: Path) -> Iterator[tuple[SqlStore, str]]:
    workspace = Workspace(load_settings(home=home, env={}), store=store)
    with running_server(workspace, auth=False) as url:
        yield store, url


def _empty(store: SqlStore) -> None:
    with store.database.write() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(table.name for table in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(delete(table))


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SqlStore, str]]:
    home = tmp_path_factory.mktemp("rest-home")
    with SqlStore(f"sqlite:///{home / 'loopml.db'}") as store:
        yield from _serve(store, home)


@pytest.fixture(scope="module")
def pg_server(
    pg_session_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SqlStore, str]]:
    with SqlStore(pg_session_url, migrate=True) as store:
        yield from _serve(store, tmp_path_factory.mktemp("rest-pg-home"))
        _empty(store)


class TestRestStoreOverSqlite(StoreConformance):
    @pytest.fixture
    def store(self, sqlite_server: tuple[SqlStore, str]) -> Iterator[RestStore]:
        backing, url = sqlite_server
        _empty(backing)
        with RestStore(url) as store:
            yield store


@pytest.mark.postgres
class TestRestStoreOverPostgres(StoreConformance):
    @pytest.fixture
    def store(self, pg_server: tuple[SqlStore, str]) -> Iterator[RestStore]:
        backing, url = pg_server
        _empty(backing)
        with RestStore(url) as store:
            yield store
