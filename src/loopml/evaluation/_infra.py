"""Infrastructure checks: load the model in a fresh process and time it there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

_PROBE = r"""
import json, resource, sys, time
def main():
    t0 = time.perf_counter()
    import pandas as pd
    from loopml.models import load_model
    model = load_model(sys.argv[1], expected_digest=sys.argv[3] or None)
    load_s = time.perf_counter() - t0
    data = pd.read_pickle(sys.argv[2])
    score = model.predict_proba if model.has_proba else model.predict
    row = data.head(1)
    score(row)
    single = []
    for i in range(int(sys.argv[4])):
        t = time.perf_counter()
        score(data.iloc[[i % len(data)]])
        single.append(time.perf_counter() - t)
    batch = []
    for _ in range(5):
        t = time.perf_counter(); score(data); batch.append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"load_s": load_s, "single": single, "batch": batch, "peak_kib": peak,
                      "batch_rows": len(data)}))
try:
    main()
except Exception as exc:  # one line: loopml errors put their hint on a second line
    text = str(exc).splitlines()
    sys.exit(f"{type(exc).__name__}: {text[0] if text else ''}")
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def infra_check(
    model_dir: Path, digest: str | None, data: pd.DataFrame, size_bytes: int, *, rows: int = 50
) -> dict[str, Any]:
    """Load in a fresh subprocess; p50/p95 single-row and batch latency, size, peak memory.

    A model that cannot load or predict there is reported with ``loads: False`` and the
    error, so a gate on it fails instead of the evaluation crashing.
    """
    with tempfile.TemporaryDirectory(prefix="loopml-infra-") as tmp:
        sample = Path(tmp) / "sample.pkl"
        data.head(1000).to_pickle(sample)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, str(model_dir), str(sample), digest or "", str(rows)],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
    out: dict[str, Any] = {"size_mb": size_bytes / 1e6, "loads": proc.returncode == 0}
    if proc.returncode != 0:
        out["error"] = (proc.stderr.strip().splitlines() or ["unknown error"])[-1]
        return out
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    out.update(
        {
            "load_s": probe["load_s"],
            "latency_p50_ms": 1000 * _percentile(probe["single"], 50),
            "latency_p95_ms": 1000 * _percentile(probe["single"], 95),
            "batch_rows": probe["batch_rows"],
            "batch_latency_p50_ms": 1000 * _percentile(probe["batch"], 50),
            "batch_latency_p95_ms": 1000 * _percentile(probe["batch"], 95),
            "peak_memory_mb": probe["peak_kib"] / 1024,
        }
    )
    return out
