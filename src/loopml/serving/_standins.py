"""Stand-ins for the micro-batcher and the prediction log, used while those modules are
absent: the same methods as ``MicroBatcher`` and ``PredictionLog``, doing the least
(one predict per request on one worker thread; no log)."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from loopml.errors import DeadlineExceeded

if TYPE_CHECKING:
    from collections.abc import Callable

Columns = dict[str, np.ndarray]


class DirectBatcher:
    """Runs every request's predict alone, at once, on one dedicated thread."""

    def __init__(
        self,
        predict: Callable[[Columns], dict[str, np.ndarray]],
        *,
        max_batch_rows: int = 512,
        max_latency_ms: float = 20.0,
        max_queue_rows: int = 8192,
        enabled: bool = True,
        observer: Any = None,
    ) -> None:
        self._predict = predict
        self._observer = observer
        self._pool: ThreadPoolExecutor | None = None
        self._calls = 0

    async def start(self) -> None:
        """Start the predict thread."""
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="loopml-predict")

    async def aclose(self) -> None:
        """Finish what was submitted, then stop the thread."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)

    def _timed(self, rows: Columns) -> tuple[dict[str, np.ndarray], float]:
        start = time.perf_counter()
        out = self._predict(rows)
        return out, time.perf_counter() - start

    async def submit(
        self, rows: Columns, *, deadline: float | None = None
    ) -> dict[str, np.ndarray]:
        """This request's outputs; DeadlineExceeded if ``deadline`` passes first."""
        if self._pool is None:
            raise RuntimeError("the batcher is not started")
        future = asyncio.get_running_loop().run_in_executor(self._pool, self._timed, rows)
        if deadline is None:
            out, predict_s = await future
        else:
            try:
                out, predict_s = await asyncio.wait_for(future, deadline - time.monotonic())
            except TimeoutError:
                raise DeadlineExceeded("the request's deadline passed before its answer") from None
        self._calls += 1
        if self._observer is not None:
            n = len(next(iter(rows.values())))
            self._observer.on_dispatch(
                rows=n, requests=1, wait_s=0.0, predict_s=predict_s, reason="idle"
            )
        return out

    @property
    def stats(self) -> dict[str, float]:
        """Predict calls so far."""
        return {"calls": float(self._calls), "queue_rows": 0.0}


@dataclass(frozen=True)
class Record:
    """The fields of ``PredictionRecord`` (see serving-interfaces)."""

    prediction_id: str
    time_ms: int
    model: str
    version: int | None
    deployment: str | None
    arm: str | None
    inputs: Columns
    outputs: Columns
    latency_ms: float


class NullLog:
    """A prediction log that keeps nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._appended = 0

    def start(self) -> None:
        """Nothing to start."""

    def append(self, record: Any, *, timeout_s: float | None = None) -> None:
        """Count and forget ``record``."""
        self._appended += 1

    def flush(self) -> None:
        """Nothing is queued."""

    def close(self) -> None:
        """Nothing to stop."""

    @property
    def queue_depth(self) -> int:
        """Always 0."""
        return 0

    @property
    def stats(self) -> dict[str, float]:
        """Nothing written, nothing dropped."""
        return {"written": 0.0, "dropped": 0.0, "appended": float(self._appended)}
