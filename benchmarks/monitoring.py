"""Drift report speed and memory on 100,000 and 1,000,000 rows x (20 numeric + 5
categorical) columns: loopml's drift() (the reference is a stored profile), a plain
scipy/numpy floor (KS + PSI per column) and, with --peers, Evidently's DataDriftPreset in
its own venv under ~/.cache/loopml-bench/. Each case runs in its own process (peak RSS;
the loopml case reads the reference's stored profile from a file, as in production);
medians of --repeat runs. Also the false-alarm sweep on same-distribution windows, and the
streaming cost: sketching one sealed segment of logged rows against the reference's bins
(per logged row) and merging bucket sketches into a window (per window, independent of
its rows).

    .venv/bin/python benchmarks/monitoring.py --repeat 3 [--peers] [--sweep-seeds 20]
    .venv/bin/python benchmarks/monitoring.py --quick [--peers]   # 100k rows only, 1 run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "monitoring.json"
QUICK_RESULTS = RESULTS.with_name("monitoring_quick.json")  # --quick keeps the full file
PEER_VENV = Path.home() / ".cache" / "loopml-bench" / "evidently"
EVIDENTLY = "evidently==0.4.40"
# evidently 0.4 imports pandas internals that pandas 2.2 removed
EVIDENTLY_PINS = ("pandas<2.2",)


def make_frame(n: int, seed: int, shift: float = 0.0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    # the numeric columns are made in one block, so pandas does not copy them to
    # consolidate: the frame's own peak is then what every tool's process starts from
    numeric = np.empty((n, 20), order="F")
    for i in range(20):
        numeric[:, i] = rng.normal(shift, 1 + i / 10, n)
    frame = pd.DataFrame(numeric, columns=[f"n{i}" for i in range(20)], copy=False)
    for j in range(5):
        frame[f"c{j}"] = rng.choice([f"v{k}" for k in range(8)], n).astype(object)
    return frame


def _write_profile(n: int, path: Path) -> None:
    """The reference's profile, as ``loopml data commit`` stores it (JSON), for the loopml
    case to read: its process never holds the reference rows, as in production."""
    import pyarrow as pa

    from loopml.data import profile_table

    path.write_text(json.dumps(profile_table(pa.Table.from_pandas(make_frame(n, 1)))))


def _case(kind: str, n: int) -> dict[str, float]:
    """Run one case in this process; returns seconds and peak RSS in MiB."""
    import resource

    if kind == "loopml":
        from loopml.monitoring import drift

        profile = json.loads(Path(os.environ["LOOPML_BENCH_PROFILE"]).read_text())
        cur = make_frame(n, 2)
        start = time.perf_counter()
        drift(profile, cur)
        seconds = time.perf_counter() - start
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"seconds": seconds, "peak_rss_mib": rss}
    ref, cur = make_frame(n, 1), make_frame(n, 2)
    if kind == "floor":
        import numpy as np
        from scipy import stats

        start = time.perf_counter()
        for name in ref.columns:
            if name.startswith("n"):
                a, b = ref[name].to_numpy(), cur[name].to_numpy()
                stats.ks_2samp(a, b)
                edges = np.quantile(a, np.linspace(0, 1, 11))[1:-1]
                pa_ = np.bincount(np.searchsorted(edges, a), minlength=10) / a.size
                pb = np.bincount(np.searchsorted(edges, b), minlength=10) / b.size
                pa_, pb = np.clip(pa_, 1e-4, None), np.clip(pb, 1e-4, None)
                float(np.sum((pb - pa_) * np.log(pb / pa_)))
            else:
                ra, rb = ref[name].value_counts(), cur[name].value_counts()
                stats.chisquare(rb.reindex(ra.index, fill_value=0), ra / ra.sum() * rb.sum())
    else:  # evidently
        from evidently.metric_preset import DataDriftPreset
        from evidently.report import Report

        start = time.perf_counter()
        Report(metrics=[DataDriftPreset()]).run(reference_data=ref, current_data=cur)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_rss_mib": rss}


def _peer_python() -> str:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        PEER_VENV.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", EVIDENTLY, *EVIDENTLY_PINS], check=True
        )
    return str(python)


def _run(kind: str, n: int, python: str, profile: Path) -> dict[str, float]:
    env = {
        **os.environ,
        "LOOPML_BENCH_PROFILE": str(profile),
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parents[1] / "src"), str(Path(__file__).parent)]
        ),
    }
    out = subprocess.run(
        [python, __file__, "--case", kind, str(n)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    lines = out.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def sweep(seeds: int) -> dict[str, float]:
    """Share of same-distribution windows that alarm, per window size."""
    from loopml.monitoring import drift

    ref = make_frame(1_000_000, 0)
    out = {}
    for size in (500, 1_000, 10_000, 100_000, 1_000_000):
        alarms = sum(drift(ref, make_frame(size, 100 + s)).drifted for s in range(seeds))
        out[str(size)] = alarms / seeds
        print(f"false alarms at {size:>9,} rows: {alarms}/{seeds}")
    return out


def streaming(repeat: int) -> dict[str, float]:
    """Microseconds per logged row to sketch a segment; milliseconds to merge a window."""
    import pyarrow as pa

    from loopml.data import profile_table
    from loopml.monitoring._sketch import merge_sketches
    from loopml.monitoring._stream import _sketch_segment
    from loopml.monitoring._windows import parse_window

    profile = profile_table(pa.Table.from_pandas(make_frame(100_000, 1)))
    rows = 10_000
    log = make_frame(rows, 2).rename(columns=lambda c: f"in.{c}")
    log["time_ms"] = range(rows)
    table = pa.Table.from_pandas(log, preserve_index=False)
    plan = parse_window("1000")
    per_row = []
    for _ in range(repeat):
        start = time.perf_counter()
        buckets = _sketch_segment(table, profile, plan, 0)
        per_row.append((time.perf_counter() - start) / rows * 1e6)
    parts = [b.sketches for b in buckets.values()] * 10  # a window of 100 buckets
    merges = []
    for _ in range(repeat):
        start = time.perf_counter()
        merge_sketches(parts)
        merges.append((time.perf_counter() - start) * 1e3)
    out = {
        "sketch_us_per_logged_row": statistics.median(per_row),
        "merge_ms_per_window_of_100_buckets": statistics.median(merges),
        "columns": 25,
        "segment_rows": rows,
    }
    print(
        f"streaming: {out['sketch_us_per_logged_row']:.2f} us per logged row (25 columns), "
        f"{out['merge_ms_per_window_of_100_buckets']:.1f} ms to merge 100 buckets"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", nargs=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peers", action="store_true")
    parser.add_argument("--sweep-seeds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="100k rows, 1 run, 3 seeds")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.sweep_seeds = 1, 3
    if args.case:
        if args.case[0] == "profile":
            _write_profile(int(args.case[1]), Path(os.environ["LOOPML_BENCH_PROFILE"]))
        else:
            print(json.dumps(_case(args.case[0], int(args.case[1]))))
        return
    kinds = {"loopml": sys.executable, "floor": sys.executable}
    if args.peers:
        kinds["evidently"] = _peer_python()
    results: dict[str, object] = {"repeat": args.repeat}
    results["quick"] = args.quick
    scratch = Path(tempfile.mkdtemp(prefix="loopml-bench-monitoring-"))
    for n in (100_000,) if args.quick else (100_000, 1_000_000):
        row = {}
        profile = scratch / f"profile-{n}.json"
        _run("profile", n, sys.executable, profile)
        for kind, python in kinds.items():
            runs = [_run(kind, n, python, profile) for _ in range(args.repeat)]
            row[kind] = {
                "median_s": statistics.median(r["seconds"] for r in runs),
                "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs),
            }
            print(
                f"{n:>9,} rows {kind:>9}: {row[kind]['median_s']:.3f} s, "
                f"{row[kind]['peak_rss_mib']:.0f} MiB"
            )
        for kind in kinds:
            if kind != "loopml":
                row[f"{kind}_over_loopml"] = row[kind]["median_s"] / row["loopml"]["median_s"]
                row[f"loopml_memory_over_{kind}"] = (
                    row["loopml"]["peak_rss_mib"] / row[kind]["peak_rss_mib"]
                )
                print(
                    f"{n:>9,} rows: {kind} takes {row[f'{kind}_over_loopml']:.1f}x loopml's "
                    f"time; loopml peaks at {row[f'loopml_memory_over_{kind}']:.2f} of its memory"
                )
        results[str(n)] = row
    results["streaming"] = streaming(max(args.repeat, 3))
    results["false_alarm_rate"] = sweep(args.sweep_seeds)
    out = QUICK_RESULTS if args.quick else RESULTS
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
