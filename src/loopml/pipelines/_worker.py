"""What runs on a worker: load inputs, call the step, store outputs, measure.

``execute_task`` never raises: failures come back as a TaskResult with the traceback, so
every executor reports results the same way.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import socket
import threading
import time
import traceback
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import cloudpickle

from loopml.entities import StepOutput
from loopml.pipelines import _materialisers as mats
from loopml.pipelines._capture import LogBuffer, capture_output
from loopml.workspace import use_workspace

if TYPE_CHECKING:
    from types import FrameType

    from loopml.pipelines._materialisers import Materialiser
    from loopml.workspace import Workspace


_current: ContextVar[tuple[str, str] | None] = ContextVar("loopml_step_run", default=None)


def current_step_run() -> tuple[str, str] | None:
    """``(pipeline_run_id, step_run_id)`` of the step running in this context, else None.

    Capabilities that record something from inside a step (a tracking run, a dataset
    version) use it to link their object to the step run.
    """
    return _current.get()


class StepTimeout(Exception):
    """An attempt ran longer than the step's timeout."""


@dataclass(frozen=True)
class Task:
    """One attempt of one step, as shipped to a worker (everything is picklable)."""

    step: str
    attempt: int
    fn: bytes
    inputs: tuple[tuple[str, str, str], ...]
    params: bytes
    n_outputs: int | None
    workspace: Workspace
    timeout: float | None = None
    materialisers: bytes = b""
    step_run_id: str = ""
    pipeline_run_id: str = ""


@dataclass(frozen=True)
class TaskResult:
    """What a worker reports about one attempt."""

    ok: bool
    outputs: tuple[StepOutput, ...] = ()
    error: str | None = None
    started_at_ms: int = 0
    ended_at_ms: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_memory_bytes: int = 0
    worker: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    log_digest: str | None = None


@lru_cache(maxsize=256)
def _unpickle(data: bytes) -> Any:
    return cloudpickle.loads(data)


def _rss() -> int:
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux
        import psutil

        return int(psutil.Process().memory_info().rss)


class _PeakMemory:
    """Samples the process's resident memory while a step runs."""

    def __init__(self, every_s: float = 0.05) -> None:
        self.peak = _rss()
        self._every = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self._every):
            self.peak = max(self.peak, _rss())

    def stop(self) -> int:
        self._stop.set()
        self.peak = max(self.peak, _rss())
        return self.peak


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _on_alarm(_signum: int, _frame: FrameType | None) -> None:
    raise StepTimeout


def _call(task: Task, fn: Any, kwargs: dict[str, Any], run_ids: list[str]) -> Any:
    """Call the step in the pipeline's workspace; runs it starts are tagged and recorded."""
    with use_workspace(task.workspace):
        return _call_tracked(task, fn, kwargs, run_ids)


def _call_tracked(task: Task, fn: Any, kwargs: dict[str, Any], run_ids: list[str]) -> Any:
    if not task.step_run_id:
        return fn(**kwargs)
    from loopml.tracking import capture_runs

    token = _current.set((task.pipeline_run_id, task.step_run_id))
    tags = {
        "loopml.pipeline_run_id": task.pipeline_run_id,
        "loopml.step_run_id": task.step_run_id,
        "loopml.step": task.step,
    }
    try:
        with capture_runs(tags) as captured:
            try:
                return fn(**kwargs)
            finally:
                run_ids.extend(captured.run_ids)
    finally:
        _current.reset(token)


def _run(task: Task, extra: tuple[Materialiser, ...], run_ids: list[str]) -> tuple[StepOutput, ...]:
    store = task.workspace.artifacts
    kwargs: dict[str, Any] = dict(cloudpickle.loads(task.params))
    for param, digest, materialiser in task.inputs:
        kwargs[param] = mats.by_name(materialiser, extra).load(store.get(digest))
    value = _call(task, _unpickle(task.fn), kwargs, run_ids)
    if task.n_outputs is None:
        values, names = [value], ["output"]
    else:
        if not isinstance(value, tuple) or len(value) != task.n_outputs:
            raise TypeError(
                f"step {task.step!r} is annotated to return a tuple of {task.n_outputs} "
                f"values but returned {type(value).__name__}"
            )
        values, names = list(value), [f"output_{i}" for i in range(task.n_outputs)]
    outputs = []
    for name, item in zip(names, values, strict=True):
        chosen = mats.choose(item, extra)
        data = chosen.save(item)
        digest = store.put(data)
        kind = f"{type(item).__module__}.{type(item).__qualname__}"
        outputs.append(StepOutput(name, digest, chosen.name, kind, len(data)))
    return tuple(outputs)


def execute_task(task: Task) -> TaskResult:
    """Run one attempt of a step and report outputs and measurements."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    started_ms = time.time_ns() // 1_000_000
    wall0, cpu0 = time.perf_counter(), _cpu_seconds()
    memory = _PeakMemory()
    alarm = task.timeout is not None and threading.current_thread() is threading.main_thread()
    previous: Any = None
    run_ids: list[str] = []
    log: LogBuffer | None = None
    try:
        extra: tuple[Materialiser, ...] = (
            _unpickle(task.materialisers) if task.materialisers else ()
        )
        if alarm:
            previous = signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, float(task.timeout or 0))
        try:
            with capture_output() as log:
                outputs = _run(task, extra, run_ids)
        finally:
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
        ok, error = True, None
    except StepTimeout:
        outputs, ok = (), False
        error = f"StepTimeout: step {task.step!r} ran longer than its timeout of {task.timeout}s"
    except BaseException as exc:
        outputs, ok = (), False
        error = "".join(traceback.format_exception(exc)).strip()
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            error = f"{type(exc).__name__} in step {task.step!r}\n{error}"
    return TaskResult(
        ok=ok,
        outputs=outputs,
        error=error,
        started_at_ms=started_ms,
        ended_at_ms=time.time_ns() // 1_000_000,
        wall_s=time.perf_counter() - wall0,
        cpu_s=max(0.0, _cpu_seconds() - cpu0),
        peak_memory_bytes=memory.stop(),
        worker=worker,
        extra={"run_ids": run_ids} if run_ids else {},
        log_digest=_save_log(task, log, error),
    )


def _save_log(task: Task, log: LogBuffer | None, error: str | None) -> str | None:
    """Store the attempt's captured output (with the error at its end); None if empty."""
    if log is None:
        return None
    if error:
        log.write(f"\n[loopml: attempt {task.attempt} of step {task.step!r} failed]\n{error}\n")
    data = log.getvalue()
    if not data:
        return None
    try:
        return task.workspace.artifacts.put(data)
    except Exception as exc:  # losing the log must not lose the step's result
        logging.getLogger("loopml.pipelines").warning(
            "step %r: its captured output was not stored: %s", task.step, exc
        )
        return None


def fn_bytes(fn: object) -> tuple[bytes, str]:
    """Pickle a step function for shipping (by value when defined in ``__main__``)."""
    data = bytes(cloudpickle.dumps(fn, protocol=5))
    return data, hashlib.sha256(data).hexdigest()
