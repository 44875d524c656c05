"""The background metric writer: an in-memory buffer flushed in batches.

``log_metric`` appends one tuple to a ``collections.deque`` (thread-safe, no lock) and
returns. One daemon thread per client wakes every ``flush_interval_s`` (or as soon as the
buffer holds ``batch_size`` points), drains the buffer and writes it with
``Store.append_metric_rows``: one transaction, one bulk insert per batch. The same thread
stamps heartbeats of the client's open runs. ``flush()`` drains synchronously under the
same lock, so every point appended before the call is durable when it returns.

Guarantee: a normal exit or an exception loses no point (run end and an ``atexit`` hook
flush); a process killed with SIGKILL loses at most the points of the last flush interval,
and never part of a batch.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
import weakref
from collections import deque
from typing import TYPE_CHECKING

from loopml.errors import NotFound

if TYPE_CHECKING:
    from collections.abc import Callable

    from loopml.store import MetricRow, Store

_log = logging.getLogger("loopml.tracking")
_MAX_BATCH = 50_000


class MetricWriter:
    """Buffer plus background flusher for one store (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        flush_interval_s: float = 0.1,
        batch_size: int = 10_000,
        heartbeat_s: float = 5.0,
    ) -> None:
        self.store = store
        self.flush_interval_s = flush_interval_s
        self.batch_size = batch_size
        self.heartbeat_s = heartbeat_s
        self.buffer: deque[MetricRow] = deque()
        self._pending: list[MetricRow] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._live: dict[str, Callable[[], None]] = {}
        self._errors: dict[str, Exception] = {}
        self._last_error: Exception | None = None
        self._last_beat = 0.0
        atexit.register(_at_exit, weakref.ref(self))

    # -- producer side ---------------------------------------------------------------------

    def wake(self) -> None:
        """Ask the writer thread to flush now (the buffer reached ``batch_size``)."""
        self._wake.set()

    def register(self, run_id: str, on_exit: Callable[[], None]) -> None:
        """Track an open run: heartbeat it, and call ``on_exit`` if the process exits."""
        self._ensure_thread()
        self._live[run_id] = on_exit

    def unregister(self, run_id: str) -> None:
        """Stop tracking a run that ended."""
        self._live.pop(run_id, None)

    def take_error(self, run_id: str) -> Exception | None:
        """The error that made the writer drop this run's points, if any (then cleared)."""
        return self._errors.pop(run_id, None)

    # -- flushing ------------------------------------------------------------------------

    def flush(self, *, timeout_s: float | None = None) -> bool:
        """Write every buffered point now; raise the store's error if that fails.

        Points of a run that no longer exists are dropped (the error is kept for
        :meth:`take_error`); other failures keep the points for the next attempt.

        Args:
            timeout_s: Give up, writing nothing, when another flush holds the writer for
                longer than this (None: wait as long as it takes).

        Returns:
            False when it gave up, else True.
        """
        if not self._lock.acquire(timeout=-1 if timeout_s is None else timeout_s):
            return False
        try:
            self._drain()
            self._write_pending(raise_errors=True)
        finally:
            self._lock.release()
        return True

    def _drain(self) -> None:
        buffer, pending = self.buffer, self._pending
        pop = buffer.popleft
        for _ in range(len(buffer)):
            pending.append(pop())

    def _write_pending(self, *, raise_errors: bool) -> None:
        while self._pending:
            batch = self._pending[:_MAX_BATCH]
            try:
                self.store.append_metric_rows(batch)
            except NotFound as exc:
                self._errors[exc.ident] = exc
                self._pending = [row for row in self._pending if row[0] != exc.ident]
                continue
            except Exception as exc:
                self._last_error = exc
                if raise_errors:
                    raise
                _log.warning("loopml: metric flush failed, will retry: %s", exc)
                return
            del self._pending[: len(batch)]

    # -- the thread ------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():  # forked: the parent's thread and buffer are not ours
            self.__init__(  # type: ignore[misc]
                self.store,
                flush_interval_s=self.flush_interval_s,
                batch_size=self.batch_size,
                heartbeat_s=self.heartbeat_s,
            )
        if self._thread is None or not self._thread.is_alive():
            self._stop = False
            self._thread = threading.Thread(
                target=self._loop, name="loopml-metric-writer", daemon=True
            )
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            with self._lock:
                self._drain()
                self._write_pending(raise_errors=False)
            now = time.monotonic()
            if self._live and now - self._last_beat >= self.heartbeat_s:
                self._last_beat = now
                try:
                    self.store.heartbeat(list(self._live))
                except Exception as exc:  # a missed beat is retried next time
                    _log.warning("loopml: heartbeat failed: %s", exc)

    def close(self) -> None:
        """Flush and stop the thread."""
        self._stop = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self.flush()

    def exit_hook(self) -> None:
        """At interpreter exit: end open runs (which flushes), then flush the rest."""
        for on_exit in list(self._live.values()):
            with contextlib.suppress(Exception):
                on_exit()
        self.close()


def _at_exit(ref: weakref.ref[MetricWriter]) -> None:
    writer = ref()
    if writer is not None and writer._pid == os.getpid():
        writer.exit_hook()
