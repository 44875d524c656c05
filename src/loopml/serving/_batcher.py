"""Adaptive micro-batching: concurrent requests share one predict call.

Requests are queued by the event loop and taken by ONE worker thread, which calls the
model one batch at a time and hands each caller exactly its own rows back. The batcher
never waits on purpose: a request that finds the model idle is dispatched at once (a lone
client pays nothing for batching), and the requests that arrive while the model is busy
form the next batch, up to ``max_batch_rows``, the moment it comes free. Batches therefore
grow with the load by themselves.

A running fit of predict time against batch rows (:class:`~loopml.serving._cost.CostModel`)
drives the decisions that need a guess of the future: a request whose deadline the fit says
cannot be met is shed with :class:`~loopml.errors.Overloaded` before the model sees it, a
batch is cut short when its size would make a queued deadline fail (reason ``deadline``),
and under a backlog the requests that are due first go first: a request's due time is
``max_latency_ms`` after its arrival, or earlier when its deadline needs it.

Dispatch reasons: ``idle`` (the model was idle), ``cost`` (the model came free with
requests queued behind the last batch, all of which fitted), ``full`` (``max_batch_rows``
cut the batch), ``deadline`` (a deadline cut the batch).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from loopml.errors import DeadlineExceeded, InvalidInput, Overloaded
from loopml.serving._cost import CostModel

Columns = dict[str, np.ndarray]
PredictFn = Callable[[Columns], Mapping[str, np.ndarray]]
#: Receives each answered group: inputs and outputs (rows of all its requests on axis 0),
#: the requests' tags and their row counts. Runs on the worker thread.
BatchSink = Callable[[Columns, Columns, list[Any], list[int]], None]

_log = logging.getLogger(__name__)
_INF = math.inf


class BatchObserver(Protocol):
    """Receives the batcher's figures (metrics). Methods may run on the worker thread."""

    def on_dispatch(
        self, *, rows: int, requests: int, wait_s: float, predict_s: float, reason: str
    ) -> None:
        """One batch ran: its size, the longest wait in it, the predict time, why it went."""

    def on_shed(self, *, reason: str) -> None:
        """A request was refused or dropped: ``queue``, ``deadline``, ``expired``, ``closed``."""

    def on_queue(self, *, rows: int) -> None:
        """The number of rows waiting changed."""


@dataclass(eq=False, slots=True)
class _Request:
    rows: Columns
    n: int
    arrived: float
    deadline: float | None
    due: float
    future: asyncio.Future[Columns]
    tag: Any = None
    result: Columns | None = None
    error: BaseException | None = field(default=None)


class MicroBatcher:
    """Gathers concurrent :meth:`submit` calls into batched ``predict`` calls.

    Args:
        predict: The model: takes columns (batch on axis 0) and returns outputs with the
            batch on axis 0. Called on one dedicated thread, one batch at a time.
        max_batch_rows: Most rows in one batch (a single bigger request runs alone).
        max_latency_ms: A request is due this long after its arrival; under a backlog
            the requests due first go first. The batcher itself never waits.
        max_queue_rows: Rows that may wait; a request beyond it is shed.
        enabled: ``False`` runs every request alone, in order, on the same thread.
        observer: Receives dispatch, shed and queue figures.
        sink: Receives every answered batch with the tags its requests were submitted
            with, before the callers get their rows (the prediction log: one record per
            predict call instead of one per request). When it raises, the requests of
            that batch get its error instead of their rows.
    """

    def __init__(
        self,
        predict: PredictFn,
        *,
        max_batch_rows: int = 512,
        max_latency_ms: float = 20.0,
        max_queue_rows: int = 8192,
        enabled: bool = True,
        observer: BatchObserver | None = None,
        sink: BatchSink | None = None,
    ) -> None:
        for name, value, low in (
            ("max_batch_rows", max_batch_rows, 1),
            ("max_latency_ms", max_latency_ms, 0),
            ("max_queue_rows", max_queue_rows, 1),
        ):
            if not value >= low:
                raise InvalidInput(
                    f"MicroBatcher: {name} must be >= {low}, got {value!r}",
                    hint=f"Pass a positive {name}.",
                )
        self._predict = predict
        self._max_rows = int(max_batch_rows)
        self._max_latency_s = float(max_latency_ms) / 1000.0
        self._max_queue_rows = int(max_queue_rows)
        self._enabled = enabled
        self._observer = observer
        self._sink = sink
        self._cost = CostModel()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: deque[_Request] = deque()
        self._queued_rows = 0
        self._idle = False
        self._closing = False
        self._running_until = 0.0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._counts = dict.fromkeys(
            ("batches", "requests", "rows", "shed", "expired", "failed", "retried"), 0
        )
        self._count_lock = threading.Lock()
        self._reasons = dict.fromkeys(("idle", "cost", "full", "deadline"), 0)

    async def start(self) -> None:
        """Start the worker thread (idempotent; :meth:`submit` starts it when needed)."""
        if self._thread is not None:
            return
        if self._closing:
            raise Overloaded("the batcher is closed", retry_after_s=1.0)
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        self._thread = threading.Thread(target=self._work, name="loopml-batcher", daemon=True)
        self._thread.start()

    async def aclose(self) -> None:
        """Refuse new requests, answer every queued one, then stop the worker thread."""
        with self._lock:
            self._closing = True
            self._wake.notify()
        if self._thread is None or self._stopped is None:
            return
        await self._stopped.wait()
        self._thread.join()

    async def submit(
        self, rows: Columns, *, deadline: float | None = None, tag: Any = None
    ) -> Columns:
        """Predict ``rows`` within some batch and return exactly their outputs.

        Args:
            rows: Columns with the batch on axis 0, all of one length.
            deadline: ``time.monotonic()`` seconds by which the answer is due, or None.
            tag: Passed to the sink with this request's rows (e.g. its prediction id).

        Returns:
            Every output of the model, sliced to this caller's rows.

        Raises:
            Overloaded: The queue is full, the deadline cannot be met by the cost fit, or
                the batcher is closing.
            DeadlineExceeded: The deadline passed before the answer.
            Exception: Whatever ``predict`` raised on these rows.
        """
        if self._thread is None:
            await self.start()
        n = _row_count(rows)
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            self._shed("expired")
            raise DeadlineExceeded(
                f"the request's deadline passed {now - deadline:.3f} s before it was queued"
            )
        assert self._loop is not None
        future: asyncio.Future[Columns] = self._loop.create_future()
        with self._lock:
            if self._closing:
                refused: tuple[str, float] | None = ("closed", 1.0)
            else:
                refused = self._admit(n, now, deadline)
            if refused is None:
                due = now + self._max_latency_s
                if deadline is not None:
                    due = min(due, deadline - self._cost.predict(n))
                self._queue.append(_Request(rows, n, now, deadline, due, future, tag))
                self._queued_rows += n
                if self._idle:
                    self._wake.notify()
            queued = self._queued_rows
        if refused is not None:
            reason, retry_after = refused
            self._shed(reason)
            raise Overloaded(_REFUSALS[reason], retry_after_s=round(retry_after, 3), reason=reason)
        if self._observer is not None:
            self._observer.on_queue(rows=queued)
        if deadline is None:
            return await future
        timer = self._loop.call_later(max(deadline - now, 0.0), _expire, future, self)
        try:
            return await future
        finally:
            timer.cancel()

    @property
    def stats(self) -> dict[str, float]:
        """Running figures: counts, dispatch reasons, the cost fit and the queue."""
        counts = self._counts
        figures: dict[str, float] = {k: float(v) for k, v in counts.items()}
        figures.update({f"reason_{k}": float(v) for k, v in self._reasons.items()})
        figures["mean_batch_rows"] = (
            counts["rows"] / counts["batches"] if counts["batches"] else 0.0
        )
        figures["cost_fixed_ms"] = self._cost.a * 1000.0
        figures["cost_per_row_us"] = self._cost.b * 1e6
        figures["cost_samples"] = float(self._cost.samples)
        figures["queue_rows"] = float(self._queued_rows)
        figures["queue_requests"] = float(len(self._queue))
        return figures

    # -- admission (event loop thread, under the lock) -----------------------------------

    def _admit(self, n: int, now: float, deadline: float | None) -> tuple[str, float] | None:
        """None to queue the request, else (shed reason, retry-after seconds)."""
        queued = self._queued_rows
        if queued and queued + n > self._max_queue_rows:
            return "queue", max(self._finish_s(0, now), 0.001)
        if deadline is None or not self._cost.ready:
            return None
        finish = self._finish_s(n, now)
        if now + finish > deadline:
            return "deadline", max(self._finish_s(0, now), 0.001)
        return None

    def _finish_s(self, n: int, now: float) -> float:
        """Predicted seconds until a new request of ``n`` rows has its answer (0: until
        everything queued now has run)."""
        cost = self._cost
        running = max(self._running_until - now, 0.0)
        queued = self._queued_rows
        if self._enabled:
            full, rest = divmod(queued + n, self._max_rows)
            batches = full + (1 if rest else 0)
        else:
            batches = len(self._queue) + (1 if n else 0)
        return running + batches * cost.a + (queued + n) * cost.b

    def _shed(self, reason: str) -> None:
        with self._count_lock:
            self._counts["expired" if reason == "expired" else "shed"] += 1
        if self._observer is not None:
            self._observer.on_shed(reason=reason)

    # -- the worker thread ---------------------------------------------------------------

    def _work(self) -> None:
        try:
            while True:
                with self._lock:
                    woke = False
                    while not self._queue and not self._closing:
                        self._idle = woke = True
                        self._wake.wait()
                    self._idle = False
                    if not self._queue:
                        break
                    now = time.monotonic()
                    batch, reason, dropped = self._take(now, woke)
                    rows = sum(r.n for r in batch)
                    self._running_until = now + self._cost.predict(rows)
                    queued = self._queued_rows
                if self._observer is not None:
                    self._observer.on_queue(rows=queued)
                for request in dropped:
                    if request.error is not None:  # cancelled ones were counted already
                        self._shed("expired")
                if batch:
                    self._run(batch, rows, reason, now)
                self._deliver(batch + [r for r in dropped if r.error is not None])
        finally:
            loop, stopped = self._loop, self._stopped
            if loop is not None and stopped is not None:
                try:
                    loop.call_soon_threadsafe(stopped.set)
                except RuntimeError:  # the loop closed without aclose()
                    pass

    def _take(self, now: float, woke: bool) -> tuple[list[_Request], str, list[_Request]]:
        """Pick the next batch from the queue (under the lock)."""
        queue = self._queue
        cost = self._cost
        batch: list[_Request] = []
        dropped: list[_Request] = []
        rest: list[_Request] = []
        ordered: list[_Request] | deque[_Request] = queue
        if (
            not self._enabled
            or self._queued_rows > self._max_rows
            or any(r.deadline is not None for r in queue)
        ):
            ordered = sorted(queue, key=_due)
        cut = ""
        rows = 0
        first_deadline = _INF
        for request in ordered:
            if request.future.done():  # cancelled or expired by its timer
                dropped.append(request)
                continue
            deadline = request.deadline
            if deadline is not None and (
                deadline <= now or (cost.ready and now + cost.predict(request.n) > deadline)
            ):
                request.error = DeadlineExceeded(
                    f"the request waited {now - request.arrived:.3f} s in the queue and "
                    "cannot be answered before its deadline"
                )
                dropped.append(request)
                continue
            if batch:
                if cut:
                    rest.append(request)
                    continue
                if not self._enabled:
                    cut = "single"
                elif rows + request.n > self._max_rows:
                    cut = "full"
                elif cost.ready and now + cost.predict(rows + request.n) > min(
                    first_deadline, _INF if deadline is None else deadline
                ):
                    cut = "deadline"
                if cut:
                    rest.append(request)
                    continue
            batch.append(request)
            rows += request.n
            if deadline is not None:
                first_deadline = min(first_deadline, deadline)
        queue.clear()
        queue.extend(rest)
        self._queued_rows = sum(r.n for r in rest)
        if cut in ("full", "deadline"):
            reason = cut
        else:
            reason = "idle" if woke else "cost"
        return batch, reason, dropped

    def _run(self, batch: list[_Request], rows: int, reason: str, now: float) -> None:
        """Predict one batch and put each request's outputs (or error) on it."""
        wait_s = now - min(r.arrived for r in batch)
        started = time.perf_counter()
        sink = self._sink
        if len(batch) == 1:
            ok = _run_one(self._predict, batch[0])
            if ok and sink is not None:
                _sink_one(sink, batch[0])
        else:
            ok = True
            inputs = _concat(batch)
            try:
                outputs = _checked(self._predict(inputs), rows)
            except Exception:
                # One bad request must not fail its neighbours: run each alone.
                ok = False
                self._counts["retried"] += 1
                for request in batch:
                    if _run_one(self._predict, request) and sink is not None:
                        _sink_one(sink, request)
            else:
                offset = 0
                for request in batch:
                    end = offset + request.n
                    request.result = {k: v[offset:end] for k, v in outputs.items()}
                    offset = end
                if sink is not None:
                    _sink_all(sink, batch, inputs, outputs)
        predict_s = time.perf_counter() - started
        if ok:
            self._cost.observe(rows, predict_s)
        counts = self._counts
        with self._count_lock:
            self._update(counts, batch, rows, reason)
        if self._observer is not None:
            try:
                self._observer.on_dispatch(
                    rows=rows,
                    requests=len(batch),
                    wait_s=wait_s,
                    predict_s=predict_s,
                    reason=reason,
                )
            except Exception:  # metrics must never fail a prediction
                _log.exception("batch observer failed")

    def _update(
        self, counts: dict[str, int], batch: list[_Request], rows: int, reason: str
    ) -> None:
        counts["batches"] += 1
        counts["requests"] += len(batch)
        counts["rows"] += rows
        counts["failed"] += sum(1 for r in batch if r.error is not None)
        self._reasons[reason] += 1

    def _deliver(self, requests: list[_Request]) -> None:
        if not requests or self._loop is None:
            return
        try:
            self._loop.call_soon_threadsafe(_resolve, requests)
        except RuntimeError:  # the loop closed without aclose(): nobody is waiting
            pass


_REFUSALS = {
    "queue": "the prediction queue is full",
    "deadline": "the request's deadline cannot be met at the current load",
    "closed": "the server is shutting down",
}


def _due(request: _Request) -> float:
    return request.due


def _row_count(rows: Columns) -> int:
    if not rows:
        raise InvalidInput("a prediction request has no input columns", hint="Send some inputs.")
    n = -1
    for name, value in rows.items():
        size = len(value)
        if n < 0:
            n = size
        elif size != n:
            raise InvalidInput(
                f"input {name!r} has {size} rows, the other inputs have {n}",
                hint="Send the same number of rows for every input.",
                field=name,
            )
    return n


def _concat(batch: list[_Request]) -> Columns:
    keys = batch[0].rows.keys()
    for request in batch:
        if request.rows.keys() != keys:
            raise ValueError("requests in one batch name different inputs")
    return {k: np.concatenate([r.rows[k] for r in batch]) for k in keys}


def _checked(outputs: Mapping[str, np.ndarray], rows: int) -> Columns:
    checked: Columns = {}
    for name, value in outputs.items():
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
        if array.ndim == 0 or len(array) != rows:
            raise RuntimeError(
                f"the model returned {array.shape[0] if array.ndim else 'a scalar'} rows of "
                f"output {name!r} for {rows} input rows"
            )
        checked[name] = array
    return checked


def _run_one(predict: PredictFn, request: _Request) -> bool:
    try:
        request.result = _checked(predict(request.rows), request.n)
    except Exception as exc:
        request.error = exc
        return False
    return True


def _sink_one(sink: BatchSink, request: _Request) -> None:
    assert request.result is not None
    _sink_all(sink, [request], request.rows, request.result)


def _sink_all(sink: BatchSink, batch: list[_Request], inputs: Columns, outputs: Columns) -> None:
    try:
        sink(inputs, outputs, [r.tag for r in batch], [r.n for r in batch])
    except Exception as exc:  # e.g. the prediction log is full: the callers must know
        for request in batch:
            request.result, request.error = None, exc


def _expire(future: asyncio.Future[Columns], batcher: MicroBatcher) -> None:
    if not future.done():
        batcher._shed("expired")
        future.set_exception(DeadlineExceeded("the request's deadline passed before its answer"))


def _resolve(requests: list[_Request]) -> None:
    for request in requests:
        future = request.future
        if future.done():
            continue
        if request.error is not None:
            future.set_exception(request.error)
        else:
            assert request.result is not None
            future.set_result(request.result)
