"""Feature store: point-in-time join and online lookups, loopml beside Feast's local store.

PIT join: ``--rows`` entity rows (default 1,000,000) against 4 feature views of 25 features
each (100 in total), every view with created timestamps and a TTL; each run is a separate
process so its peak RSS is its own. Online: ``get_online_features`` for 1 and 100 entities
(p50/p99 over many lookups) on SQLite and, when 127.0.0.1:6379 answers, Redis.

``--peers`` installs Feast into its own venv under ``~/.cache/loopml-bench/feast`` and runs
its local offline store (``FileSource`` over the same Parquet files) on the first
``--feast-rows`` entity rows (default 100,000: Feast's local join on a million rows would
run for a very long time and need tens of GB); its time is also given scaled to ``--rows``
linearly, which favours Feast (its join is not faster per row on more rows).

    .venv/bin/python benchmarks/features.py [--rows N] [--repeat 3] [--peers]

Results: ``benchmarks/results/features.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

VIEWS, FEATURES_PER_VIEW, ENTITIES = 4, 25, 20_000
RESULTS = Path(__file__).parent / "results" / "features.json"
FEAST_VENV = Path.home() / ".cache" / "loopml-bench" / "feast"
FEAST_PIN = "feast[duckdb]>=0.40"


def generate(folder: Path, rows: int, source_rows: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    base = pd.Timestamp("2026-01-01")
    span = 90 * 86_400
    for v in range(VIEWS):
        ev = rng.integers(0, span, source_rows)
        frame = {
            "user_id": rng.integers(0, ENTITIES, source_rows),
            "ts": base + pd.to_timedelta(ev, unit="s"),
            "created": base + pd.to_timedelta(ev + rng.integers(0, 7_200, source_rows), unit="s"),
        }
        for f in range(FEATURES_PER_VIEW):
            frame[f"v{v}_f{f}"] = rng.normal(size=source_rows).astype("float64")
        pd.DataFrame(frame).to_parquet(folder / f"view{v}.parquet")
    pd.DataFrame(
        {
            "user_id": rng.integers(0, ENTITIES, rows),
            "event_timestamp": base + pd.to_timedelta(rng.integers(0, span, rows), unit="s"),
        }
    ).to_parquet(folder / "entities.parquet")


def definitions_yaml(folder: Path) -> str:
    views = []
    for v in range(VIEWS):
        feats = ", ".join(f"{{name: v{v}_f{f}}}" for f in range(FEATURES_PER_VIEW))
        views.append(
            f"  - name: view{v}\n    entities: [user]\n    source: {folder}/view{v}.parquet\n"
            f"    event_timestamp: ts\n    created_timestamp: created\n    ttl: 30d\n"
            f"    features: [{feats}]\n"
        )
    return (
        "entities:\n  - {name: user, keys: {user_id: int64}}\nfeature_views:\n"
        + "".join(views)
        + "feature_services:\n  - {name: all, features: ["
        + ", ".join(f"view{v}" for v in range(VIEWS))
        + "]}\n"
    )


def peak_rss_mb() -> float:
    """This process's peak RSS. ``VmHWM`` where there is /proc: ``ru_maxrss`` survives
    ``exec``, so a child started with vfork would report at least its parent's RSS
    (here the data generator's, ~280 MB)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_pit(
    folder: Path,
    memory_limit: str | None,
    entities: str = "entities.parquet",
    output: str = "parquet",
) -> dict[str, float]:
    """One PIT join in this process: streamed to Parquet, or into a DataFrame as Feast's
    ``to_df()`` does (``output="frame"``)."""
    import loopml
    from loopml import features as fs

    ws = loopml.Workspace.open(home=folder / "home")
    # Like Feast's child, whose FeatureStore (registry) is open and whose libraries are
    # imported before its clock starts: open the metadata store and import the libraries
    # the join uses. Reading the entity file and the definitions stays on the clock.
    _ = ws.store
    import duckdb  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    if output == "frame":
        import pandas  # noqa: F401
    # The last run's output is removed off the clock (unlinking a large file is slow here).
    (folder / "out.parquet").unlink(missing_ok=True)
    start, cpu = time.perf_counter(), time.process_time()
    job = fs.get_historical_features(
        folder / entities, "all", memory_limit=memory_limit, workspace=ws
    )
    if output == "frame":
        job.to_df()
    else:
        job.to_parquet(folder / "out.parquet")
    return {
        "seconds": time.perf_counter() - start,
        "cpu_s": time.process_time() - cpu,
        "peak_rss_mb": peak_rss_mb(),
    }


def child_online(folder: Path, url: str | None, lookups: int) -> dict[str, float]:
    import numpy as np

    import loopml
    from loopml import features as fs

    ws = loopml.Workspace.open(home=folder / "home")
    start = time.perf_counter()
    fs.materialize(online_store=url, workspace=ws)
    materialise_s = time.perf_counter() - start
    client = fs.client_for(ws, url)
    rng = np.random.default_rng(1)
    out: dict[str, float] = {"materialize_s": materialise_s}
    for batch in (1, 100):
        times = []
        for _ in range(lookups):
            rows = [{"user_id": int(k)} for k in rng.integers(0, ENTITIES, batch)]
            t0 = time.perf_counter()
            client.get(rows, "all")
            times.append(time.perf_counter() - t0)
        times = times[lookups // 10 :]  # warm-up
        out[f"p50_ms_{batch}"] = float(np.percentile(times, 50) * 1000)
        out[f"p99_ms_{batch}"] = float(np.percentile(times, 99) * 1000)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


FEAST_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from datetime import timedelta
    import pandas as pd
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64
    folder, rows = sys.argv[1], int(sys.argv[2])
    views, per_view = int(sys.argv[3]), int(sys.argv[4])
    repo = folder + "/feast_repo"
    import os
    os.makedirs(repo, exist_ok=True)
    open(repo + "/feature_store.yaml", "w").write(
        "project: bench\\nregistry: " + repo + "/registry.db\\nprovider: local\\n"
        "online_store: {type: sqlite, path: " + repo + "/online.db}\\n"
        "offline_store: {type: file}\\nentity_key_serialization_version: 3\\n"
    )
    store = FeatureStore(repo_path=repo)
    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64)
    fvs = []
    for v in range(views):
        src = FileSource(path=f"{folder}/view{v}.parquet", timestamp_field="ts",
                         created_timestamp_column="created")
        fvs.append(FeatureView(name=f"view{v}", entities=[user], ttl=timedelta(days=30),
                               schema=[Field(name=f"v{v}_f{f}", dtype=Float64)
                                       for f in range(per_view)],
                               source=src))
    store.apply([user, *fvs])
    entity_df = pd.read_parquet(f"{folder}/entities.parquet").head(rows)
    refs = [f"view{v}:v{v}_f{f}" for v in range(views) for f in range(per_view)]
    start, cpu = time.perf_counter(), time.process_time()
    store.get_historical_features(entity_df=entity_df, features=refs).to_df()
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
    peak = (int(hwm[0].split()[1]) if hwm else
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024
    print("RESULT " + json.dumps({"seconds": took, "cpu_s": cpu, "peak_rss_mb": peak}))
    """
)


def feast_python() -> Path:
    python = FEAST_VENV / "bin" / "python"
    if not python.exists():
        FEAST_VENV.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(FEAST_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", FEAST_PIN], check=True)
    return python


def run_child(argv: list[str], python: str = sys.executable) -> dict[str, float]:
    done = subprocess.run([python, *argv], capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line.removeprefix("RESULT ")))
    raise SystemExit(f"child {argv[:3]} failed:\n{done.stderr[-3000:]}")


def redis_up() -> bool:
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping()
    except Exception:  # any failure: no Redis to measure
        return False
    return True


def print_table(report: dict[str, Any]) -> None:
    """The PIT rows of the report side by side: seconds, peak RSS, and the ratios."""
    ours = report["loopml_pit"]
    feast = report.get("feast_pit")
    lines = [
        f"{'PIT join':34} {'loopml s':>9} {'Feast s':>9} {'speed':>7} {'CPU':>7} "
        f"{'loopml MB':>10} {'Feast MB':>9} {'memory':>7}"
    ]
    if feast:
        rows = feast["rows"]
        for output, label in (("frame", "DataFrame"), ("parquet", "Parquet")):
            same = report.get(f"loopml_pit_{rows}_rows_{output}")
            if same:
                case = f"{rows:,} rows -> {label}"
                lines.append(
                    f"{case:34} {same['median_s']:9.2f} "
                    f"{feast['median_s']:9.2f} {same['speedup_vs_feast']:6.1f}x "
                    f"{same.get('cpu_speedup_vs_feast', float('nan')):6.1f}x "
                    f"{same['peak_rss_mb']:10.0f} {feast['peak_rss_mb']:9.0f} "
                    f"{same['memory_vs_feast']:7.2f}"
                )
    scaled = f"{feast['scaled_to_rows_s']:9.0f}" if feast else f"{'-':>9}"
    speed = f"{feast['speedup']:6.0f}x" if feast else f"{'-':>7}"
    label = f"{report['rows']:,} rows -> Parquet"
    lines.append(
        f"{label:34} {ours['median_s']:9.2f} {scaled} "
        f"{speed} {'-':>7} {ours['peak_rss_mb']:10.0f} {'-':>9} {'-':>7}"
    )
    if feast:
        lines.append("  (Feast's time at that size: its time on the rows above, scaled linearly;")
        lines.append(
            "   CPU: the ratio of CPU seconds, all threads, less swayed by a busy machine)"
        )
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--source-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--peers", action="store_true")
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB's limit for the join.")
    parser.add_argument("--feast-rows", type=int, default=100_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--entities", default="entities.parquet", help=argparse.SUPPRESS)
    parser.add_argument("--output", default="parquet", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        folder = Path(args.folder)
        if args.child == "pit":
            result = child_pit(folder, args.memory_limit or None, args.entities, args.output)
        else:
            result = child_online(folder, args.url or None, args.lookups)
        print("RESULT " + json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder, args.rows, args.source_rows)
        (folder / "features.yaml").write_text(definitions_yaml(folder))
        import loopml
        from loopml import features as fs

        with loopml.Workspace.open(home=folder / "home") as ws:
            fs.apply(fs.load_definitions(folder / "features.yaml"), workspace=ws)
        me = [__file__, "--folder", str(folder), "--lookups", str(args.lookups)]
        me += ["--memory-limit", args.memory_limit]
        pits = [run_child([*me, "--child", "pit"]) for _ in range(args.repeat)]
        report: dict[str, object] = {
            "rows": args.rows,
            "features": VIEWS * FEATURES_PER_VIEW,
            "source_rows_per_view": args.source_rows,
            "cpus": os.cpu_count(),
            "load_average_at_start": round(os.getloadavg()[0], 2),
            "memory_limit": args.memory_limit,
            "loopml_pit": {
                "median_s": statistics.median(p["seconds"] for p in pits),
                "min_s": min(p["seconds"] for p in pits),
                "max_s": max(p["seconds"] for p in pits),
                "cpu_s": statistics.median(p.get("cpu_s", float("nan")) for p in pits),
                "peak_rss_mb": max(p["peak_rss_mb"] for p in pits),
            },
        }
        print(f"loopml PIT join: {json.dumps(report['loopml_pit'])}")
        stores = {"sqlite": ""} | (
            {"redis": "redis://127.0.0.1:6379/0?prefix=bench"} if redis_up() else {}
        )
        for name, url in stores.items():
            report[f"online_{name}"] = run_child([*me, "--child", "online", "--url", url])
            print(f"online {name}: {json.dumps(report[f'online_{name}'])}")
        if args.peers:
            python = feast_python()
            script = folder / "feast_child.py"
            script.write_text(FEAST_CHILD)
            rows = min(args.feast_rows, args.rows)
            argv = [str(script), str(folder), str(rows), str(VIEWS), str(FEATURES_PER_VIEW)]
            runs = [run_child(argv, str(python)) for _ in range(max(1, args.repeat - 1))]
            feast_s = statistics.median(r["seconds"] for r in runs)
            feast_cpu = statistics.median(r.get("cpu_s", float("nan")) for r in runs)
            scaled = feast_s * args.rows / rows
            ours = report["loopml_pit"]  # type: ignore[index]
            feast_rss = max(r["peak_rss_mb"] for r in runs)
            report["feast_pit"] = {
                "rows": rows,
                "median_s": feast_s,
                "scaled_to_rows_s": scaled,
                "cpu_s": feast_cpu,
                "peak_rss_mb": feast_rss,
                "speedup": scaled / ours["median_s"],  # type: ignore[index]
                "memory_ratio": ours["peak_rss_mb"] / feast_rss,  # type: ignore[index]
            }
            print(f"Feast local PIT join: {json.dumps(report['feast_pit'])}")
            # Like for like: loopml on the same entity rows, once streamed to Parquet and
            # once into a DataFrame as Feast's to_df() gives.
            import pandas as pd

            small = f"entities_{rows}.parquet"
            pd.read_parquet(folder / "entities.parquet").head(rows).to_parquet(folder / small)
            for output in ("parquet", "frame"):
                same = [
                    run_child([*me, "--child", "pit", "--entities", small, "--output", output])
                    for _ in range(args.repeat)
                ]
                same_s = statistics.median(p["seconds"] for p in same)
                same_cpu = statistics.median(p.get("cpu_s", float("nan")) for p in same)
                same_rss = max(p["peak_rss_mb"] for p in same)
                report[f"loopml_pit_{rows}_rows_{output}"] = {
                    "median_s": same_s,
                    "cpu_s": same_cpu,
                    "cpu_speedup_vs_feast": feast_cpu / same_cpu,
                    "peak_rss_mb": same_rss,
                    "speedup_vs_feast": feast_s / same_s,
                    "memory_vs_feast": same_rss / feast_rss,
                }
                print(
                    f"loopml on Feast's {rows} rows ({output}): "
                    f"{json.dumps(report[f'loopml_pit_{rows}_rows_{output}'])}"
                )
    print_table(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
