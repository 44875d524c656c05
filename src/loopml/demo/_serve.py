"""Demo step 5: serve the champion on loopback, stream the generator's traffic, post labels.

The prediction server runs for real (uvicorn on 127.0.0.1, a free port) in a thread of
the demo's process; a few client threads send single-transaction requests in MLflow's
``dataframe_records`` format, as a card network would, then the labels arrive as feedback
and the live accuracy is read back from the prediction log.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN, generate_transactions
from loopml.serving import create_app, read_predictions

if TYPE_CHECKING:
    from loopml.workspace import Workspace

CLIENTS = 4


@dataclass(frozen=True)
class ServingFigures:
    """What the served champion did with the stream."""

    url: str
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    requests_per_s: float
    logged: int
    labelled: int
    live_accuracy: float


class _Server:
    """uvicorn in a thread, bound to a socket we opened (so the port is known up front)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="demo-server", daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo's prediction server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True  # graceful: the prediction log is flushed on the way out
        self.thread.join(timeout=60)
        self.sock.close()


def serve_and_stream(
    workspace: Workspace, model_uri: str, *, start: str, rows: int, seed: int
) -> ServingFigures:
    """Serve ``model_uri``, send ``rows`` transactions one request each, post their labels."""
    traffic = generate_transactions(start=start, days=1, rows_per_day=rows, seed=seed)
    records = json.loads(traffic[list(FEATURE_COLUMNS)].to_json(orient="records"))
    labels = traffic[TARGET_COLUMN].astype(int).tolist()
    app = create_app(model_uri, workspace=workspace)
    latencies: list[float] = []
    ids: list[str | None] = [None] * len(records)
    errors = 0
    with _Server(app) as server:

        def send(indices: range) -> int:
            failed = 0
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for i in indices:
                    began = time.perf_counter()
                    reply = client.post("/invocations", json={"dataframe_records": [records[i]]})
                    latencies.append((time.perf_counter() - began) * 1000)
                    if reply.status_code != 200:
                        failed += 1
                        continue
                    ids[i] = reply.headers["x-prediction-id"]
            return failed

        began = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            errors = sum(pool.map(send, [range(k, len(records), CLIENTS) for k in range(CLIENTS)]))
        elapsed = time.perf_counter() - began
        feedback = [
            {"prediction_id": pid, "label": label}
            for pid, label in zip(ids, labels, strict=True)
            if pid is not None
        ]
        with httpx.Client(base_url=server.url, timeout=60) as client:
            client.post("/feedback", json=feedback).raise_for_status()
    logged = read_predictions(workspace=workspace)
    logged = logged[logged["prediction_id"].isin(set(i for i in ids if i is not None))]
    labelled = logged[logged["label_updates"] > 0]
    predicted = labelled["out.predict"].astype(int)
    truth = labelled["label"].astype(int)
    ordered = sorted(latencies)
    return ServingFigures(
        url=server.url,
        requests=len(records),
        errors=errors,
        p50_ms=statistics.median(ordered),
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        requests_per_s=len(records) / elapsed,
        logged=len(logged),
        labelled=len(labelled),
        live_accuracy=float((predicted == truth).mean()) if len(labelled) else float("nan"),
    )
