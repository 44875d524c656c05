"""Tracking benchmark: metric logging, run creation and history reads, vs MLflow and raw SQLite.

Run:
    .venv/bin/python benchmarks/tracking.py [--postgres URL] [--compare mlflow] [--repeat 5]

Workloads (the same for every tool, on the same database type):
  1. log 100,000 metric points one ``log_metric`` call at a time into one run, then flush:
     the per-call cost, and the durable end-to-end rate (first call -> data committed);
  2. create 1,000 runs with 10 params each (start, params, end);
  3. read back a 100,000-point metric history.
The floor is a raw ``sqlite3`` loop inserting the same 100,000 rows in one transaction.
``--startup`` times whole processes instead (see ``_startup.py``): the first metric after
the import, ``--help`` and ``runs list`` on 10,000 runs, for loopml and MLflow alike.
MLflow is installed into its own venv outside the repository (``--mlflow-venv``) on first
use with ``--compare mlflow``; its slow ``log_metric`` loop runs fewer calls
(``--mlflow-calls``) and reports the per-call rate. Figures are medians of ``--repeat``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from loopml.artifacts import ArtifactStore
from loopml.store.sql import SqlStore
from loopml.tracking import TrackingClient

N_POINTS = 100_000
N_RUNS = 1_000
PARAMS = {f"param_{i}": f"value-{i}" for i in range(10)}


def _median(values: list[float]) -> float:
    return statistics.median(values)


def bench_loopml(
    url_for: callable,  # type: ignore[valid-type]
    repeat: int,
    between: callable | None = None,  # type: ignore[valid-type]
) -> dict[str, float]:
    """Run the three workloads ``repeat`` times; ``between`` runs after each (the floor)."""
    call_us, e2e, runs_ms, create_ms, read_s = [], [], [], [], []
    for attempt in range(repeat):
        if between is not None:
            between(attempt)  # interleaved, so both see the same machine load
        url, folder = url_for(attempt)
        store = SqlStore(url)
        client = TrackingClient(store, ArtifactStore(str(folder / "artifacts")))
        with client.start_run("metrics") as run:
            log = run.log_metric
            start = time.perf_counter()
            for i in range(N_POINTS):
                log("loss", i * 0.001, i)
            logged = time.perf_counter()
            run.flush()
            durable = time.perf_counter()
        call_us.append((logged - start) / N_POINTS * 1e6)
        e2e.append(N_POINTS / (durable - start))
        started = time.perf_counter()
        history = client.metric_history(run.id, "loss")
        read_s.append(time.perf_counter() - started)
        assert len(history) == N_POINTS
        created = 0.0
        start = time.perf_counter()
        for i in range(N_RUNS):
            t0 = time.perf_counter()
            active = client.start_run(f"run-{i}", params=PARAMS)
            created += time.perf_counter() - t0
            active.end()
        runs_ms.append((time.perf_counter() - start) / N_RUNS * 1000)
        create_ms.append(created / N_RUNS * 1000)
        client.close()
        store.close()
    return {
        "log_metric_us_per_call": _median(call_us),
        "log_metric_calls_per_s": 1e6 / _median(call_us),
        "durable_points_per_s": _median(e2e),
        "run_with_10_params_ms": _median(runs_ms),
        "run_create_only_ms": _median(create_ms),
        "history_100k_read_s": _median(read_s),
    }


N_SEARCH_RUNS = 10_000
SEARCH = "metrics.auc > 0.9 and params.model = 'rf' and tags.team = 'risk'"


def bench_search(url: str, repeat: int) -> dict[str, float]:
    """List 10,000 runs with a filter on a metric, a param and a tag, sorted by the metric."""
    import random

    from loopml.store.sql import SqlStore

    store = SqlStore(url)
    rng = random.Random(0)
    for lo in range(0, N_SEARCH_RUNS, 1000):
        rows = []
        for i in range(lo, lo + 1000):
            run = store.create_run(
                name=f"run-{i}",
                params={"model": rng.choice(["rf", "lr", "gb"]), "C": str(rng.random())},
                tags={"team": rng.choice(["risk", "ops"])},
            )
            rows.append((run.id, "auc", 0, 1, rng.random()))
        store.append_metric_rows(rows)
    client = TrackingClient(store, capture_environment=False)
    times, count_times, found, total = [], [], 0, 0
    for _ in range(repeat):
        start = time.perf_counter()
        found = len(client.search_runs(SEARCH, order_by="metrics.auc desc", limit=1000))
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
        total = client.count_runs(SEARCH)
        count_times.append(time.perf_counter() - start)
    client.close()
    store.close()
    return {
        "search_s": _median(times),
        "count_s": _median(count_times),
        "found": found,
        "total": total,
    }


class RawSqlite:
    """The floor: a raw sqlite3 insert loop (and executemany) in one transaction."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.loop_us: list[float] = []
        self.many_us: list[float] = []

    def __call__(self, attempt: int) -> None:
        folder = self.folder
        for kind, out in (("loop", self.loop_us), ("many", self.many_us)):
            db = sqlite3.connect(folder / f"raw-{kind}-{attempt}.db", isolation_level=None)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute(
                "CREATE TABLE metrics (run_id TEXT, key TEXT, step INTEGER, timestamp_ms INTEGER,"
                " value REAL)"
            )
            db.execute("CREATE INDEX ix ON metrics (run_id, key, step)")
            rows = [
                ("r" * 32, "loss", i, 1_700_000_000_000 + i, i * 0.001) for i in range(N_POINTS)
            ]
            start = time.perf_counter()
            db.execute("BEGIN")
            if kind == "loop":
                for row in rows:
                    db.execute("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", row)
            else:
                db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")
            out.append((time.perf_counter() - start) / N_POINTS * 1e6)
            db.close()

    def result(self) -> dict[str, float]:
        return {
            "raw_loop_us_per_point": _median(self.loop_us),
            "raw_executemany_us_per_point": _median(self.many_us),
        }


MLFLOW_SCRIPT = textwrap.dedent(
    """
    import json, logging, statistics, sys, time, warnings
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import mlflow
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient
    uri, calls, points, runs, repeat = sys.argv[1], *map(int, sys.argv[2:6])
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("bench")
    client = MlflowClient(uri)
    res = {"version": mlflow.__version__}
    per_call, batch_rate, run_ms, read_s = [], [], [], []
    for _ in range(repeat):
        with mlflow.start_run() as run:
            start = time.perf_counter()
            for i in range(calls):
                mlflow.log_metric("loss", i * 0.001, step=i)
            per_call.append((time.perf_counter() - start) / calls * 1e6)
        with mlflow.start_run() as run:
            now = int(time.time() * 1000)
            start = time.perf_counter()
            for lo in range(0, points, 1000):
                top = min(lo + 1000, points)
                batch = [Metric("loss", i * 0.001, now, i) for i in range(lo, top)]
                client.log_batch(run.info.run_id, metrics=batch, synchronous=True)
            batch_rate.append(points / (time.perf_counter() - start))
            batch_run = run.info.run_id
        start = time.perf_counter()
        history = client.get_metric_history(batch_run, "loss")
        read_s.append(time.perf_counter() - start)
        assert len(history) == points, len(history)
        params = {f"param_{i}": f"value-{i}" for i in range(10)}
        start = time.perf_counter()
        for i in range(runs):
            with mlflow.start_run(run_name=f"run-{i}"):
                mlflow.log_params(params)
        run_ms.append((time.perf_counter() - start) / runs * 1000)
    med = statistics.median
    res.update(
        log_metric_us_per_call=med(per_call),
        log_metric_calls_per_s=1e6 / med(per_call),
        log_batch_points_per_s=med(batch_rate),
        run_with_10_params_ms=med(run_ms),
        history_100k_read_s=med(read_s),
        log_metric_calls_measured=calls,
        runs_measured=runs,
    )
    print("RESULT " + json.dumps(res))
    """
)


def ensure_mlflow(venv: Path, postgres: bool) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"installing MLflow into {venv} (once)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "mlflow-skinny>=3.17,<3.18",
                "sqlalchemy",
                "alembic",
                "psycopg[binary]",
            ],
            check=True,
        )
    return python


def bench_mlflow(python: Path, uri: str, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(MLFLOW_SCRIPT)
    out = subprocess.run(
        [
            str(python),
            handle.name,
            uri,
            str(args.mlflow_calls),
            str(N_POINTS),
            str(args.mlflow_runs),
            str(args.mlflow_repeat),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "MLFLOW_ENABLE_ASYNC_LOGGING": "false"},
    )
    os.unlink(handle.name)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"MLflow benchmark failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return json.loads(line.removeprefix("RESULT "))


def _pg_fresh(base: str, tag: str) -> str:
    import psycopg

    admin_url = base.replace("postgresql+psycopg://", "postgresql://")
    admin_url = admin_url.rsplit("/", 1)[0] + "/postgres"
    name = f"loopml_bench_{tag}_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + "/" + name


def _line(label: str, value: str) -> None:
    print(f"{label:<38} {value}")


def report(
    title: str,
    ours: dict[str, float],
    theirs: dict[str, float] | None,
    raw: dict[str, float] | None,
) -> None:
    print(f"\n== {title} ==")
    us, rate = ours["log_metric_us_per_call"], ours["log_metric_calls_per_s"]
    _line("loopml log_metric call", f"{us:10.2f} us/call ({rate:,.0f} calls/s)")
    _line("loopml durable end to end", f"{ours['durable_points_per_s']:10,.0f} points/s")
    _line(
        "loopml run with 10 params",
        f"{ours['run_with_10_params_ms']:10.3f} ms start+params+end "
        f"(create alone {ours['run_create_only_ms']:.3f} ms)",
    )
    _line("loopml 100k-point history read", f"{ours['history_100k_read_s']:10.3f} s")
    if raw:
        floor = 1e6 / raw["raw_loop_us_per_point"]
        _line(
            "raw sqlite3 insert loop, 1 txn",
            f"{raw['raw_loop_us_per_point']:10.2f} us/point ({floor:,.0f} points/s); "
            f"executemany {raw['raw_executemany_us_per_point']:.2f} us/point",
        )
        _line(
            "  floor rate / loopml durable rate", f"{floor / ours['durable_points_per_s']:10.2f}x"
        )
    if theirs:
        v = theirs["version"]
        _line(
            f"MLflow {v} log_metric",
            f"{theirs['log_metric_us_per_call']:10.1f} us/call "
            f"({theirs['log_metric_calls_per_s']:,.0f} calls/s; "
            f"{theirs['log_metric_calls_measured']} calls)",
        )
        _line(f"MLflow {v} log_batch", f"{theirs['log_batch_points_per_s']:10,.0f} points/s")
        _line(
            f"MLflow {v} run with 10 params",
            f"{theirs['run_with_10_params_ms']:10.3f} ms ({theirs['runs_measured']} runs)",
        )
        _line(f"MLflow {v} 100k-point history read", f"{theirs['history_100k_read_s']:10.3f} s")
        durable = ours["durable_points_per_s"]
        _line(
            "  durable rate vs MLflow log_batch",
            f"{durable / theirs['log_batch_points_per_s']:10.1f}x",
        )
        _line(
            "  durable rate vs MLflow log_metric",
            f"{durable / theirs['log_metric_calls_per_s']:10.1f}x",
        )
        _line(
            "  run with 10 params vs MLflow",
            f"{theirs['run_with_10_params_ms'] / ours['run_with_10_params_ms']:10.1f}x faster",
        )
        _line(
            "  history read vs MLflow",
            f"{theirs['history_100k_read_s'] / ours['history_100k_read_s']:10.1f}x faster",
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--postgres", help="postgresql+psycopg://user@host/db to also bench PostgreSQL"
    )
    parser.add_argument(
        "--compare", choices=["mlflow"], help="also run MLflow on the same workloads"
    )
    parser.add_argument("--mlflow-venv", type=Path, default=Path("/tmp/loopml-bench-mlflow"))
    parser.add_argument("--mlflow-calls", type=int, default=2_000)
    parser.add_argument("--mlflow-runs", type=int, default=N_RUNS)
    parser.add_argument("--mlflow-repeat", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--search-only", action="store_true", help="only the 10,000-run filtered listing"
    )
    parser.add_argument(
        "--startup", action="store_true", help="only the whole-process start-up and CLI cases"
    )
    args = parser.parse_args()
    if args.startup:
        from _startup import bench_startup

        python = ensure_mlflow(args.mlflow_venv, False) if args.compare else None
        bench_startup(args.repeat, python)
        return
    print(
        f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs; "
        f"sqlite {sqlite3.sqlite_version}; medians of {args.repeat} (MLflow: {args.mlflow_repeat})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.search_only:
            found = bench_search(f"sqlite:///{folder / 'search.db'}", args.repeat)
            print(
                f"SQLite: listing {N_SEARCH_RUNS:,} runs with {SEARCH!r}, sorted by metrics.auc "
                f"desc (page of {found['found']:,.0f} of {found['total']:,.0f} matches): "
                f"{found['search_s']:.3f} s; "
                f"count: {found['count_s']:.3f} s"
            )
            return
    python = ensure_mlflow(args.mlflow_venv, bool(args.postgres)) if args.compare else None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        def sqlite_url(attempt: int) -> tuple[str, Path]:
            sub = folder / f"loopml-{attempt}"
            sub.mkdir()
            return f"sqlite:///{sub / 'loopml.db'}", sub

        floor = RawSqlite(folder)
        ours = bench_loopml(sqlite_url, args.repeat, floor)
        raw = floor.result()
        theirs = bench_mlflow(python, f"sqlite:///{folder / 'mlflow.db'}", args) if python else None
        report("SQLite", ours, theirs, raw)
        if args.postgres:

            def pg_url(attempt: int) -> tuple[str, Path]:
                sub = folder / f"pg-{attempt}"
                sub.mkdir()
                return _pg_fresh(args.postgres, f"l{attempt}"), sub

            ours_pg = bench_loopml(pg_url, args.repeat)
            theirs_pg = (
                bench_mlflow(python, _pg_fresh(args.postgres, "mlflow"), args) if python else None
            )
            report("PostgreSQL", ours_pg, theirs_pg, None)


if __name__ == "__main__":
    main()
