"""Batch scoring: rows/s and peak memory of ``score_batch`` on a generated Parquet table.

Run: .venv/bin/python benchmarks/batch.py [--rows 2000000] [--workers 1,2] [--repeat 3]
     [--chunk-rows 100000]

A LogisticRegression on 20 float features is scored over ``--rows`` rows (Parquet, row
groups of 100,000; about 170 MB per 1,000,000 rows on disk) in a temporary folder outside
the repository. Each case runs in a fresh process, which reports its wall time and peak
RSS (its own and its worker processes'); the floor is the same model's ``predict`` on the
whole table read into memory at once (what a script without chunking would do). Figures
are medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

FEATURES = 20

CASE = r"""
import json, resource, sys, time
args = json.loads(sys.argv[1])
start = time.perf_counter()
if args["mode"] == "floor":
    import pandas as pd
    from loopml.models import load_model
    model = load_model(args["model"])
    frame = pd.read_parquet(args["input"])
    predictions = model.predict(frame)
    pd.DataFrame({"prediction": predictions}).to_parquet(args["output"])
    rows = len(frame)
else:
    from loopml.serving import score_batch
    from loopml.workspace import Workspace, use_workspace
    ws = Workspace.open(home=args["home"], env={}, create=True)
    with ws, use_workspace(ws):
        result = score_batch(args["model"], args["input"], args["output"], workers=args["workers"],
                             chunk_rows=args["chunk_rows"], store_output=False)
    rows = result.rows
seconds = time.perf_counter() - start
self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "rows": rows, "rss_mb": self_kb / 1024,
                  "worker_rss_mb": child_kb / 1024}))
"""


def make_input(folder: Path, rows: int) -> tuple[Path, Path]:
    from sklearn.linear_model import LogisticRegression

    from loopml.models import save_model

    rng = np.random.default_rng(0)
    names = [f"x{i}" for i in range(FEATURES)]
    train = rng.normal(size=(5_000, FEATURES))
    import pandas as pd

    model = LogisticRegression(max_iter=300)

    example = pd.DataFrame(train[:5], columns=names)
    model.fit(pd.DataFrame(train, columns=names), (train[:, 0] + train[:, 1] > 0).astype(int))
    save_model(model, folder / "model", input_example=example)
    path = folder / "input.parquet"
    writer = None
    step = 100_000
    for start in range(0, rows, step):
        n = min(step, rows - start)
        columns = {"id": pa.array(np.arange(start, start + n))}
        block = rng.normal(size=(n, FEATURES))
        columns.update({name: pa.array(block[:, i]) for i, name in enumerate(names)})
        table = pa.table(columns)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    return folder / "model", path


def run_case(args: dict[str, object]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CASE, json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")},
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="loopml-bench-batch-") as tmp:
        folder = Path(tmp)
        model, path = make_input(folder, opts.rows)
        size_mb = path.stat().st_size / 2**20
        print(f"{opts.rows:,} rows x {FEATURES} features, {size_mb:,.0f} MB Parquet, "
              f"chunks of {opts.chunk_rows:,} rows, median of {opts.repeat}")  # fmt: skip
        cases = [("floor: predict on the whole table in memory", {"mode": "floor"})]
        for w in (int(x) for x in opts.workers.split(",")):
            cases.append((f"score_batch, {w} worker(s)", {"mode": "batch", "workers": w}))
        floor_rate = None
        for label, extra in cases:
            runs = []
            for i in range(opts.repeat):
                args = {
                    "model": str(model),
                    "input": str(path),
                    "output": str(folder / f"out-{i}.parquet"),
                    "home": str(folder / f"home-{i}"),
                    "chunk_rows": opts.chunk_rows,
                    **extra,
                }
                runs.append(run_case(args))
                (folder / f"out-{i}.parquet").unlink(missing_ok=True)
            seconds = statistics.median(r["seconds"] for r in runs)
            rate = opts.rows / seconds
            rss = statistics.median(r["rss_mb"] for r in runs)
            floor_rate = floor_rate or rate
            print(
                f"{label:48s} {seconds:7.2f} s  {rate:12,.0f} rows/s  "
                f"({rate / floor_rate:4.2f}x the floor)  peak RSS {rss:6.0f} MB"
                + (
                    " (the driver; each worker is a process of its own)"
                    if extra.get("workers", 1) != 1
                    else ""
                )
            )


if __name__ == "__main__":
    main()
