"""PostgreSQL connections: no ping per transaction, and a connection the server closed is
replaced before it is used."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text

from loopml.store.sql import SqlStore
from tests.fixtures.services import PG_ADMIN_URL

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(pg_url: str) -> Iterator[SqlStore]:
    with SqlStore(pg_url, migrate=True) as opened:
        yield opened


def _backend_pid(store: SqlStore) -> int:
    with store.database.read() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_transactions_send_no_ping(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    pings: list[object] = []
    dialect = store.database.engine.dialect
    real_ping = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda conn: pings.append(conn) or real_ping(conn))
    pid = _backend_pid(store)
    run = store.create_run(name="r")
    for step in range(20):
        store.append_metric_rows([(run.id, "loss", step, step, float(step))])
    assert store.get_run(run.id).name == "r"
    assert pings == []
    assert _backend_pid(store) == pid  # a healthy connection is kept, not replaced


def test_a_connection_the_server_closed_is_replaced(store: SqlStore) -> None:
    pid = _backend_pid(store)  # the pooled connection the next transaction would reuse
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        deadline = time.monotonic() + 10
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline, "the backend did not exit"
            time.sleep(0.05)
    run = store.create_run(name="after-restart")  # no error: a fresh connection was taken
    assert store.get_run(run.id).name == "after-restart"
    assert _backend_pid(store) != pid
