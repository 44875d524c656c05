"""Start-up and CLI cases of ``tracking.py --startup``, whole processes, loopml beside MLflow.

SDK with SDK: a fresh process imports the library, starts a run and logs one metric; the
process reports the time from after the import to the first ``log_metric`` returning, and
the whole process (interpreter start to exit) is timed from outside. On an existing home
(database at head, environment capture cached) and on a fresh home (database created;
loopml's environment cache is per interpreter, so it stays warm), plus one cold case
(fresh home and an empty environment cache: the first run after an install).
CLI with CLI: ``--help``, and ``runs list`` on a 10,000-run store (loopml's default page of
50; ``--json -n 10000`` prints all of them, as ``mlflow runs list`` does).
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import textwrap
from pathlib import Path

from _whole import LOOPML, clean_env, compile_loopml, last_cpu, run_timed, summary

from loopml.entities import RunStatus
from loopml.store.sql import SqlStore

N_LIST_RUNS = 10_000

FIRST_METRIC = textwrap.dedent(
    """
    import json, time
    start = time.perf_counter()
    import loopml
    imported = time.perf_counter()
    run = loopml.start_run(name="startup")
    run.log_metric("loss", 0.5)
    first = time.perf_counter()
    run.end()
    print("RESULT " + json.dumps({"import": imported - start, "first": first - imported}))
    """
)

MLFLOW_FIRST_METRIC = textwrap.dedent(
    """
    import json, logging, sys, time, warnings
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    start = time.perf_counter()
    import mlflow
    imported = time.perf_counter()
    mlflow.set_tracking_uri(sys.argv[1])
    mlflow.start_run()
    mlflow.log_metric("loss", 0.5)
    first = time.perf_counter()
    mlflow.end_run()
    print("RESULT " + json.dumps({"import": imported - start, "first": first - imported}))
    """
)

MLFLOW_POPULATE = textwrap.dedent(
    """
    import logging, random, sys, warnings
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient
    client, rng = MlflowClient(sys.argv[1]), random.Random(0)
    for i in range(int(sys.argv[2])):
        run = client.create_run("0", run_name=f"run-{i}")
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("auc", rng.random(), 0, 0)],
            params=[Param("model", rng.choice(["rf", "lr"]))],
            tags=[RunTag("team", "risk")],
        )
        client.set_terminated(run.info.run_id)
    """
)


_PAIRS = [
    ("MLflow first metric, existing store", "loopml first metric, existing home"),
    ("MLflow first metric, fresh store", "loopml first metric, fresh home"),
    ("mlflow --help", "loopml --help"),
    ("mlflow runs list --experiment-id 0 (10,000 runs)", "loopml runs list --json -n 10000"),
]
RATIOS = [
    (f"{theirs}{kind}", f"{ours}{kind}")
    for theirs, ours in _PAIRS
    for kind in ("", " [CPU]", " [first]")
]


def _inner(done_stdout: str) -> dict[str, float]:
    line = next(x for x in done_stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, float] = json.loads(line.removeprefix("RESULT "))
    return result


Results = dict[str, float]  # label -> median seconds (also "<label> [CPU]", "... [first]")


class Cases:
    """Figures per case: whole-process wall and CPU seconds, the in-process first metric."""

    def __init__(self, out: Results) -> None:
        self.out = out
        self.runs: dict[str, list[tuple[float, float, float | None]]] = {}

    def run(self, label: str, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        whole, done = run_timed(command, cwd=cwd, env=env)
        first = _inner(done.stdout)["first"] if "RESULT " in done.stdout else None
        self.runs.setdefault(label, []).append((whole, last_cpu(), first))

    def report(self) -> None:
        for label, rows in self.runs.items():
            whole = [r[0] for r in rows]
            cpu = statistics.median(r[1] for r in rows)
            line = f"{label:52} whole {summary(whole)}  CPU {cpu:6.3f} s"
            self.out[label], self.out[f"{label} [CPU]"] = statistics.median(whole), cpu
            firsts = [r[2] for r in rows if r[2] is not None]
            if firsts:
                self.out[f"{label} [first]"] = statistics.median(firsts)
                line += f"  import->first metric {statistics.median(firsts) * 1000:5.0f} ms"
            print(line, flush=True)
        self.runs.clear()


def _populate_loopml(db: Path) -> None:
    store = SqlStore(f"sqlite:///{db}")
    rng = random.Random(0)
    for lo in range(0, N_LIST_RUNS, 1000):
        rows = []
        for i in range(lo, lo + 1000):
            run = store.create_run(
                name=f"run-{i}", params={"model": rng.choice(["rf", "lr"])}, tags={"team": "risk"}
            )
            store.set_run_status(run.id, RunStatus.FINISHED)
            rows.append((run.id, "auc", 0, 1, rng.random()))
        store.append_metric_rows(rows)
    store.close()


def _loopml_cases(root: Path, repeat: int, out: Results) -> None:
    compile_loopml()
    env = clean_env({"XDG_CACHE_HOME": str(root / "env-cache")})
    script = [LOOPML[0], "-c", FIRST_METRIC]
    home = root / "home"
    run_timed(script, cwd=root, env={**env, "LOOPML_HOME": str(home)})  # prime: home + cache
    cases = Cases(out)
    for r in range(repeat):
        existing, fresh = str(home), str(root / f"fresh-{r}")
        cases.run(
            "loopml first metric, existing home", script, root, {**env, "LOOPML_HOME": existing}
        )
        cases.run("loopml first metric, fresh home", script, root, {**env, "LOOPML_HOME": fresh})
    cold = {**env, "XDG_CACHE_HOME": str(root / "cold-cache"), "LOOPML_HOME": str(root / "cold")}
    cases.run("loopml first metric, fresh home + cold env cache (1x)", script, root, cold)
    cases.report()
    listing = root / "list-home"
    _populate_loopml(listing / "loopml.db")
    list_env = {**env, "LOOPML_HOME": str(listing)}
    for label, args in (
        ("loopml --help", ["--help"]),
        ("loopml runs list (10,000 runs, page of 50)", ["runs", "list"]),
        ("loopml runs list --json -n 10000", ["runs", "list", "--json", "-n", "10000"]),
    ):
        for _ in range(repeat):
            cases.run(label, [*LOOPML, *args], root, list_env)
    cases.report()


def _mlflow_cases(root: Path, repeat: int, python: Path, out: Results) -> None:
    env = clean_env({"MLFLOW_ENABLE_ASYNC_LOGGING": "false"})
    script = [str(python), "-c", MLFLOW_FIRST_METRIC]
    existing = f"sqlite:///{root / 'mlflow.db'}"
    run_timed([*script, existing], cwd=root, env=env)  # prime: the database is migrated
    cases = Cases(out)
    for r in range(repeat):
        fresh = f"sqlite:///{root / f'mlflow-{r}.db'}"
        cases.run("MLflow first metric, existing store", [*script, existing], root, env)
        cases.run("MLflow first metric, fresh store", [*script, fresh], root, env)
    cases.report()
    listing = python.parent.parent / f"runs-{N_LIST_RUNS}.db"  # kept: it takes minutes to make
    uri = f"sqlite:///{listing}"
    if not listing.exists():
        print(f"(creating {N_LIST_RUNS:,} MLflow runs once in {listing}...)", flush=True)
        run_timed([str(python), "-c", MLFLOW_POPULATE, uri, str(N_LIST_RUNS)], cwd=root, env=env)
    mlflow = str(python.parent / "mlflow")
    list_env = {**env, "MLFLOW_TRACKING_URI": uri}
    for label, args in (
        ("mlflow --help", ["--help"]),
        (
            "mlflow runs list --experiment-id 0 (10,000 runs)",
            ["runs", "list", "--experiment-id", "0"],
        ),
    ):
        for _ in range(repeat):
            cases.run(label, [mlflow, *args], root, list_env)
    cases.report()


def bench_startup(repeat: int, mlflow_python: Path | None) -> None:
    """Print the whole-process start-up and CLI figures (medians of ``repeat``)."""
    print(f"# start-up and CLI, whole processes, medians of {repeat}")
    out: Results = {}
    with tempfile.TemporaryDirectory(prefix="loopml-bench-startup-") as tmp:
        _loopml_cases(Path(tmp), repeat, out)
        if mlflow_python is None:
            return
        _mlflow_cases(Path(tmp), repeat, mlflow_python, out)
    print("\n## MLflow / loopml (how many times longer MLflow takes)")
    for theirs, ours in RATIOS:
        if theirs in out and ours in out:
            print(f"{theirs:52} {out[theirs] / out[ours]:6.1f}x  (vs {ours})")
