"""Executors only submit: the scheduling loop decides what runs when.

An executor takes a :class:`Task` and a callback, runs ``execute_task`` somewhere, and calls
the callback with the :class:`TaskResult` (from any thread). The local executor uses a
process pool; the Dask executor lives in ``_dask.py``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import types
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from loopml.errors import InvalidInput
from loopml.pipelines._worker import TaskResult, execute_task

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from loopml.pipelines._worker import Task

_forkserver_lock = threading.Lock()
_forkserver_ready = False


@runtime_checkable
class Executor(Protocol):
    """Where step attempts run. Implementations only submit; they never decide order.

    ``capacity`` is the number of CPUs the scheduling loop may keep busy at once (None: the
    back-end places tasks itself).
    """

    name: str

    @property
    def capacity(self) -> float | None:
        """CPUs the scheduling loop may fill, or None for no limit."""
        ...

    def submit(
        self, task: Task, resources: dict[str, float], done: Callable[[TaskResult], None]
    ) -> object:
        """Start ``task``; call ``done`` with its result; return a handle for :meth:`cancel`."""
        ...

    def cancel(self, handle: object) -> None:
        """Best effort: stop a submitted task whose result is no longer wanted."""
        ...

    def close(self) -> None:
        """Release workers (waits for running tasks)."""
        ...


@contextmanager
def hidden_main() -> Iterator[None]:
    """Start worker processes without them re-running the user's ``__main__`` script.

    spawn and forkserver children normally import the parent's main module first, which
    re-runs a script that has no ``if __name__ == "__main__":`` guard (and fails with
    "attempt to start a new process before bootstrapping"). Steps travel by value
    (cloudpickle), so workers never need ``__main__``: hide it while processes start.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _context() -> multiprocessing.context.BaseContext:
    # forkserver: workers fork from a clean server process (no inherited threads or
    # sockets), and the server preloads the worker module once, so workers start fast.
    # The user's __main__ is not preloaded: step functions travel by value (cloudpickle).
    global _forkserver_ready
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    with _forkserver_lock:
        if not _forkserver_ready:
            multiprocessing.set_forkserver_preload(["loopml.pipelines._worker"])
            _forkserver_ready = True
    return multiprocessing.get_context("forkserver")


class LocalExecutor:
    """Runs steps in worker processes on this machine.

    Args:
        max_workers: Worker processes (default: the CPU count). The pool starts on the
            first submission, so a fully cached run starts none.
    """

    name = "local"

    def __init__(self, *, max_workers: int | None = None) -> None:
        if max_workers is not None and max_workers < 1:
            raise InvalidInput(f"max_workers must be at least 1, got {max_workers}")
        self.max_workers = max_workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    @property
    def capacity(self) -> float | None:
        """The number of worker processes."""
        return float(self.max_workers)

    def submit(
        self, task: Task, resources: dict[str, float], done: Callable[[TaskResult], None]
    ) -> object:
        """Run ``task`` in a worker process."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.max_workers, mp_context=_context())
        with hidden_main():  # the pool starts worker processes inside submit
            future = self._pool.submit(execute_task, task)
        future.add_done_callback(lambda f: done(_result(f, task)))
        return future

    def cancel(self, handle: object) -> None:
        """Cancel a task that has not started (a running one is stopped by its timeout)."""
        if isinstance(handle, Future):
            handle.cancel()

    def close(self) -> None:
        """Shut the pool down."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _result(future: Any, task: Task) -> TaskResult:
    """The TaskResult of a finished future, also when the worker itself died."""
    try:
        result = future.result()
    except BaseException as exc:  # a killed worker, a cancelled task, a broken pool
        return TaskResult(
            ok=False, error=f"{type(exc).__name__}: worker failed running step {task.step!r}: {exc}"
        )
    if isinstance(result, TaskResult):
        return result
    return TaskResult(ok=False, error=f"unexpected result from worker: {result!r}")
