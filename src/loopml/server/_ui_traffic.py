"""A deployment's traffic from its prediction log: latency and throughput per arm over time.

Only the ``arm``, ``latency_ms`` and ``error`` columns of the last hour are read (never the
logged inputs), one row per request, bucketed by minute.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from loopml.workspace import Workspace

#: How far back the traffic charts look, and the width of one bucket.
WINDOW_S, BUCKET_S = 3600, 60


def traffic_series(deployment: str, workspace: Workspace) -> dict[str, Any]:
    """Per minute and arm: p50 and p95 latency (ms), requests a second, errors."""
    from loopml.serving import read_predictions

    since_ms = int((time.time() - WINDOW_S) * 1000)
    frame = read_predictions(
        deployment=deployment,
        since=since_ms,
        with_feedback=False,
        columns=["arm", "latency_ms", "error"],
        workspace=workspace,
    )
    empty: dict[str, Any] = {"time": [], "latency": {}, "throughput": {}, "errors": {}}
    if frame.empty:
        return empty
    requests = frame[frame["row"] == 0]
    buckets = (requests["time_ms"].to_numpy() // (BUCKET_S * 1000)) * BUCKET_S
    times = np.unique(buckets)
    index = {int(t): i for i, t in enumerate(times)}
    out: dict[str, Any] = {"time": [int(t) for t in times], "latency": {}, "throughput": {}}
    out["errors"] = {}
    arms = requests["arm"].fillna("").to_numpy()
    latency = requests["latency_ms"].to_numpy(dtype=float)
    failed = requests["error"].notna().to_numpy() if "error" in requests else np.zeros(len(arms))
    for arm in sorted(set(arms)):
        mine = arms == arm
        p50: list[float | None] = [None] * len(times)
        p95: list[float | None] = [None] * len(times)
        rate: list[float | None] = [0.0] * len(times)
        errs: list[float | None] = [0.0] * len(times)
        for bucket in np.unique(buckets[mine]):
            at = mine & (buckets == bucket)
            i = index[int(bucket)]
            p50[i], p95[i] = (float(v) for v in np.percentile(latency[at], [50, 95]))
            rate[i] = float(at.sum()) / BUCKET_S
            errs[i] = float((at & failed).sum())
        name = arm or "model"
        out["latency"][f"{name} p50 ms"] = p50
        out["latency"][f"{name} p95 ms"] = p95
        out["throughput"][f"{name} req/s"] = rate
        out["errors"][f"{name} errors"] = errs
    return out
