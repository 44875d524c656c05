"""Four processes writing to one store at once lose nothing and never see a lock error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from loopml.store.sql import SqlStore
from loopml.store.sql.tables import runs

WRITER = """
import sys
from loopml.store.sql import SqlStore
from loopml.entities import Metric
store = SqlStore(sys.argv[1], migrate=True)
worker = sys.argv[2]
for i in range(int(sys.argv[3])):
    run = store.create_run(name=f"{worker}-{i}", params={"i": str(i)})
    store.log_metrics(run.id, [Metric("m", float(i), i, i)])
store.close()
"""

PROCESSES, RECORDS = 4, 1000


def _hammer(url: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, f"w{n}", str(RECORDS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "locked" not in err
    with SqlStore(url) as store, store.database.read() as conn:
        assert conn.execute(select(func.count()).select_from(runs)).scalar_one() == 4000
        names = {row[0] for row in conn.execute(select(runs.c.name))}
    assert names == {f"w{n}-{i}" for n in range(PROCESSES) for i in range(RECORDS)}


@pytest.mark.slow
def test_four_writers_on_one_sqlite_home(tmp_path: Path) -> None:
    _hammer(f"sqlite:///{tmp_path / 'home' / 'loopml.db'}")


@pytest.mark.slow
@pytest.mark.postgres
def test_four_writers_on_postgres(pg_url: str) -> None:
    SqlStore(pg_url, migrate=True).close()
    _hammer(pg_url)
