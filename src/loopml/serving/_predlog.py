"""The durable prediction log: a bounded queue, one writer thread, a spool, sealed segments.

The request path only puts a record on a bounded queue. One background thread takes
records off it, turns them into Arrow batches per (model, version, deployment), appends
them to that group's spool file and fsyncs, at least every ``flush_interval_s``: a SIGKILL
loses at most the records of that window. A spool file is sealed into a Parquet segment
(artifact store + an index row in the metadata store) once it holds ``segment_max_rows``
rows or is ``segment_max_age_s`` old, and on :meth:`PredictionLog.close`. The next
``start`` in any process of the same home seals what a killed process left.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from typing import TYPE_CHECKING, Literal

from loopml.errors import InvalidInput, Overloaded, StoreError
from loopml.ids import new_id
from loopml.serving._records import (
    BatchRecord,
    PredictionRecord,
    check_batch,
    check_record,
    group_tables,
)
from loopml.serving._segments import Sealer
from loopml.serving._spool import SpoolFile, remove_stale_tmp, spool_dir, spool_files

if TYPE_CHECKING:
    import pyarrow as pa

    from loopml.serving._records import AnyRecord, ShapeKey
    from loopml.workspace import Workspace

__all__ = ["LiveLogs", "PredictionLog", "PredictionRecord", "live_logs"]

log = logging.getLogger(__name__)

_WHEN_FULL = ("block", "shed")
#: Records turned into one Arrow batch at most (bounds the writer's memory between flushes).
_BATCH_RECORDS = 8192
_RETRY_S = 1.0  # pause before retrying a failed spool write or seal
_RECORDS = (PredictionRecord, BatchRecord)


class _Flush:
    """A marker on the queue: everything before it is to be spooled (and maybe sealed)."""

    def __init__(self, *, seal: bool = False, stop: bool = False) -> None:
        self.seal = seal
        self.stop = stop
        self.done = threading.Event()
        self.error: BaseException | None = None


class LiveLogs:
    """The prediction logs running in this process for one workspace (for feedback)."""

    def __init__(self, _workspace: Workspace | None = None) -> None:
        self._logs: list[PredictionLog] = []
        self._lock = threading.Lock()

    def add(self, log: PredictionLog) -> None:
        with self._lock:
            self._logs.append(log)

    def remove(self, log: PredictionLog) -> None:
        with self._lock:
            if log in self._logs:
                self._logs.remove(log)

    def flush(self) -> None:
        """Spool everything queued in every live log (so its ids can be found)."""
        with self._lock:
            logs = list(self._logs)
        for each in logs:
            each.flush()

    def seal(self) -> None:
        """Spool and seal every live log now, so monitor windows see every row so far."""
        with self._lock:
            logs = list(self._logs)
        for each in logs:
            each.seal()

    def close(self) -> None:
        """Close every live log (the workspace is closing)."""
        with self._lock:
            logs = list(self._logs)
        for each in logs:
            each.close()


def live_logs(workspace: Workspace) -> LiveLogs:
    """The registry of this process's running prediction logs of ``workspace``."""
    return workspace.service("loopml.serving.live_logs", LiveLogs)


class PredictionLog:
    """Durable, asynchronous log of every prediction a server makes.

    Args:
        workspace: Where segments go (its artifact and metadata stores) and where the
            spool lives (``<home>/predictions/spool``).
        flush_interval_s: Longest time a record waits in memory before it is fsync'd to
            the spool; what a SIGKILL can lose.
        max_queue: Records the queue holds before ``when_full`` applies.
        segment_max_rows: Rows after which a segment is sealed.
        segment_max_age_s: Seconds after which an open segment is sealed.
        when_full: ``"block"``: ``append`` waits for room (back-pressure), raising
            Overloaded after its ``timeout_s``; ``"shed"``: ``append`` raises Overloaded
            at once. Either way nothing is dropped without the caller knowing.

    Example:
        >>> import loopml, numpy as np, tempfile, time
        >>> from loopml.serving import PredictionLog, PredictionRecord
        >>> ws = loopml.Workspace.open(home=tempfile.mkdtemp())
        >>> plog = PredictionLog(ws)
        >>> plog.start()
        >>> plog.append(
        ...     PredictionRecord(
        ...         "p1",
        ...         int(time.time() * 1000),
        ...         "fraud",
        ...         None,
        ...         None,
        ...         None,
        ...         {"x": np.array([1.0])},
        ...         {"predict": np.array([0])},
        ...         1.5,
        ...     )
        ... )
        >>> plog.close()
        >>> plog.stats["sealed_rows"]
        1.0
    """

    def __init__(
        self,
        workspace: Workspace,
        *,
        flush_interval_s: float = 1.0,
        max_queue: int = 65536,
        segment_max_rows: int = 100_000,
        segment_max_age_s: float = 60.0,
        when_full: Literal["block", "shed"] = "block",
    ) -> None:
        for name, value in (
            ("flush_interval_s", flush_interval_s),
            ("max_queue", max_queue),
            ("segment_max_rows", segment_max_rows),
            ("segment_max_age_s", segment_max_age_s),
        ):
            if not value > 0:
                raise InvalidInput(
                    f"PredictionLog {name} must be positive, got {value!r}",
                    hint="Leave the default unless you measured a reason to change it.",
                )
        if when_full not in _WHEN_FULL:
            raise InvalidInput(
                f"PredictionLog when_full must be 'block' or 'shed', got {when_full!r}",
                hint="'block' applies back-pressure; 'shed' refuses with Overloaded (503).",
            )
        self.workspace = workspace
        self.flush_interval_s = flush_interval_s
        self.max_queue = max_queue
        self.segment_max_rows = segment_max_rows
        self.segment_max_age_s = segment_max_age_s
        self.when_full = when_full
        self._queue: queue.Queue[AnyRecord | _Flush] = queue.Queue(max_queue)
        self._wake = threading.Event()
        self._wake_at = max(1, min(_BATCH_RECORDS, max_queue // 2))
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._counts = dict.fromkeys(
            (
                "appended",
                "appended_rows",
                "blocked",
                "shed",
                "timed_out",
                "written",
                "written_rows",
                "flushes",
                "segments",
                "sealed_rows",
                "recovered_segments",
                "errors",
            ),
            0,
        )
        self._folder = spool_dir(workspace.home)
        self._sealer = Sealer(workspace)
        self._open: dict[ShapeKey, SpoolFile] = {}
        self._unsealed: list[SpoolFile] = []  # closed spool files whose sealing failed

    # -- the caller's side --------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread (which first seals what crashed processes left)."""
        # Open both stores here: the writer must never wait for the workspace's lock,
        # which Workspace.close() holds while it closes this log.
        _ = self.workspace.store, self.workspace.artifacts
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(
                target=self._run, name="loopml-prediction-log", daemon=True
            )
            self._thread.start()
        live_logs(self.workspace).add(self)
        atexit.register(self.close)

    def append(
        self, record: PredictionRecord | BatchRecord, *, timeout_s: float | None = None
    ) -> None:
        """Queue one record; when the queue is full, wait (``block``) or refuse (``shed``).

        A :class:`BatchRecord` (several requests of one predict call) takes one place in
        the queue.

        Raises:
            Overloaded: The queue is full (``shed``), or stayed full for ``timeout_s``
                (``block``); the record was not logged and the caller should answer 503.
            InvalidInput: The record's arrays disagree in length, or the log is closed.
        """
        if isinstance(record, BatchRecord):
            rows, requests = check_batch(record), len(record.prediction_ids)
        else:
            rows, requests = check_record(record), 1
        if self._closed:
            raise InvalidInput(
                "the prediction log is closed; the record was not logged",
                hint="Append before close(); a stopping server refuses new requests first.",
            )
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._wake.set()
            self._count("blocked" if self.when_full == "block" else "shed")
            if self.when_full == "shed":
                raise self._overloaded("the prediction log queue is full") from None
            try:
                self._queue.put(record, timeout=timeout_s)
            except queue.Full:
                self._count("timed_out")
                raise self._overloaded(
                    f"the prediction log queue stayed full for {timeout_s} s"
                ) from None
        self._nudge()
        with self._lock:
            self._counts["appended"] += requests
            self._counts["appended_rows"] += rows

    def _overloaded(self, message: str) -> Overloaded:
        return Overloaded(
            f"{message} ({self.max_queue} records); the prediction was not logged",
            retry_after_s=max(self.flush_interval_s, 1.0),
            queue=self.max_queue,
        )

    def _count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counts[name] += by

    def flush(self) -> None:
        """Spool (fsync) everything queued before this call; returns when it is durable."""
        self._request(_Flush())

    def seal(self) -> None:
        """Spool everything queued and seal every open segment now."""
        self._request(_Flush(seal=True))

    def close(self) -> None:
        """Write everything queued, seal every open segment and stop; idempotent.

        Raises:
            StoreError: Sealing failed; the records stay in the spool, and the next
                ``start`` on this home seals them.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        atexit.unregister(self.close)
        live_logs(self.workspace).remove(self)
        stop = _Flush(seal=True, stop=True)
        if thread is None:  # never started: drain on this thread
            self._recover()
            self._drain(stop)
            return
        self._queue.put(stop)
        self._wake.set()
        thread.join()
        if stop.error is not None:
            raise stop.error

    def _request(self, marker: _Flush) -> None:
        with self._lock:
            thread, closed = self._thread, self._closed
        if closed:
            return  # close() wrote everything
        if thread is None:
            self._drain(marker)  # not started: do it on this thread
            return
        self._queue.put(marker)
        self._wake.set()
        marker.done.wait()
        if marker.error is not None:
            raise marker.error

    @property
    def queue_depth(self) -> int:
        """Records (and markers) waiting in the queue."""
        return self._queue.qsize()

    @property
    def stats(self) -> dict[str, float]:
        """Running counts: appended, written (spooled), sealed rows, segments, shed, ...

        ``dropped`` is always 0: a record is either logged or refused with Overloaded.
        """
        with self._lock:
            figures = {name: float(value) for name, value in self._counts.items()}
        figures["dropped"] = 0.0
        figures["queue_depth"] = float(self.queue_depth)
        figures["open_segments"] = float(len(self._open))
        return figures

    # -- the writer's side --------------------------------------------------------------

    def _run(self) -> None:
        # The writer sleeps until the flush deadline, a marker, or a queue that has grown to
        # a batch (``_nudge``), and then drains what is queued. Waiting on the queue itself
        # woke this thread for every record: a thread switch, and the GIL taken from the
        # event loop, for each request.
        self._recover()
        pending: list[AnyRecord] = []
        next_flush = time.monotonic() + self.flush_interval_s
        again = False
        while True:
            if not again:
                self._wake.wait(max(0.0, next_flush - time.monotonic()))
            self._wake.clear()  # before draining: a later put sets it again
            marker, again = self._take(pending)
            if marker is not None:
                try:
                    self._write(pending, seal=marker.seal or marker.stop)
                except BaseException as exc:  # reported to the caller waiting on it
                    marker.error = exc
                marker.done.set()
                if marker.stop:
                    self._release_all()
                    return
                next_flush = time.monotonic() + self.flush_interval_s
                again = True  # more may be queued behind the marker
            elif again or time.monotonic() >= next_flush:
                try:
                    self._write(pending)
                except Exception:  # kept in memory; the queue fills and pushes back
                    log.exception("prediction log: writing the spool failed; retrying")
                    time.sleep(_RETRY_S)
                    again = False
                next_flush = time.monotonic() + self.flush_interval_s

    def _take(self, pending: list[AnyRecord]) -> tuple[_Flush | None, bool]:
        """Move queued records to ``pending`` up to a marker or a batch; (the marker, or
        None; whether a full batch was taken, so more may be waiting)."""
        while len(pending) < _BATCH_RECORDS:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return None, False
            if isinstance(item, _Flush):
                return item, False
            pending.append(item)
        return None, True

    def _nudge(self) -> None:
        """Wake the writer when the queue holds a batch (or is near full)."""
        if self._queue.qsize() >= self._wake_at:
            self._wake.set()

    def _drain(self, marker: _Flush) -> None:
        pending: list[AnyRecord] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _RECORDS):
                pending.append(item)
        try:
            self._write(pending, seal=marker.seal or marker.stop)
        finally:
            if marker.stop:
                self._release_all()

    def _release_all(self) -> None:
        """Unlock what could not be sealed, so the next start (any process) recovers it."""
        for spool in [*self._open.values(), *self._unsealed]:
            spool.finish()
            spool.release()
        self._open.clear()
        self._unsealed.clear()

    def _recover(self) -> None:
        try:
            remove_stale_tmp(self._folder)
            mine = {spool.path for spool in self._open.values()}
            others = [p for p in spool_files(self._folder) if p not in mine]
            sealed = self._sealer.recover(others)
        except Exception:
            self._count("errors")
            log.exception("prediction log: sealing spool files left by a crash failed")
            return
        if sealed:
            log.info("prediction log: sealed %d segment(s) left by a crash", len(sealed))
            self._count("recovered_segments", len(sealed))
            self._count("segments", len(sealed))
            self._count("sealed_rows", sum(s.rows for s in sealed))

    def _write(self, records: list[AnyRecord], *, seal: bool = False) -> None:
        """Spool ``records`` (one fsync per file), then seal what is full, old or asked.

        Records spooled are removed from ``records``; on an error the rest stay in it.
        """
        done: set[int] = set()
        try:
            for key, members, table in group_tables(records):
                self._spool(key, table)
                done.update(map(id, members))
                self._count("written", sum(map(_requests, members)))
        except BaseException:
            self._count("errors")
            records[:] = [r for r in records if id(r) not in done]
            raise
        if records:
            self._count("flushes")
            records.clear()
        for key, spool in list(self._open.items()):
            if (
                seal
                or spool.rows >= self.segment_max_rows
                or (spool.age_s() >= self.segment_max_age_s)
            ):
                self._close_spool(key)
        self._seal_closed()
        if seal and self._unsealed:
            raise StoreError(
                f"prediction log: {len(self._unsealed)} segment(s) could not be sealed; "
                f"their records are safe in {self._folder}",
                hint="Check the metadata and artifact stores; the next start seals them.",
            )

    def _spool(self, key: ShapeKey, table: pa.Table) -> None:
        while table.num_rows:
            spool = self._open.get(key)
            if spool is not None and not spool.schema.equals(table.schema, check_metadata=False):
                self._close_spool(key)  # the same columns came with other types: a new file
                spool = None
            if spool is None:
                spool = SpoolFile(self._folder, new_id(), key, table.schema)
                self._open[key] = spool
            take = min(table.num_rows, self.segment_max_rows - spool.rows)
            spool.append(table.slice(0, take))
            self._count("written_rows", take)
            table = table.slice(take)
            if spool.rows >= self.segment_max_rows:
                self._close_spool(key)

    def _close_spool(self, key: ShapeKey) -> None:
        spool = self._open.pop(key)
        spool.finish()
        self._unsealed.append(spool)

    def _seal_closed(self) -> None:
        while self._unsealed:
            spool = self._unsealed[0]
            try:
                segment = self._sealer.seal_file(spool.path)
            except Exception:  # the spool file stays; sealed at the next write or start
                self._count("errors")
                log.exception("prediction log: sealing %s failed; will retry", spool.path)
                return
            self._unsealed.pop(0)
            spool.release()
            if segment is not None:
                self._count("segments")
                self._count("sealed_rows", segment.rows)


def _requests(record: AnyRecord) -> int:
    return len(record.prediction_ids) if isinstance(record, BatchRecord) else 1
