"""Where parallel trials run: local worker processes (spawned) or a Dask cluster."""

from __future__ import annotations

import importlib
import importlib.util
import multiprocessing
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from loopml.errors import MissingExtra
from loopml.tuning._trial import TrialOutcome, TrialTask, run_trial

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


class _LocalPool:
    """Trials in spawned worker processes (a clean interpreter each: no forked threads)."""

    def __init__(self, parallelism: int) -> None:
        self.parallelism = parallelism

    def run(
        self, make_task: Callable[[], TrialTask], finish: Callable[[TrialOutcome], None], n: int
    ) -> None:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=self.parallelism, mp_context=context) as pool:
            launched = 0
            running: set[Future[TrialOutcome]] = set()
            while launched < n or running:
                while launched < n and len(running) < self.parallelism:
                    running.add(pool.submit(run_trial, make_task()))
                    launched += 1
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    finish(future.result())


class _DaskPool:
    """Trials as tasks on a Dask cluster (a local one on 127.0.0.1 unless an address is given)."""

    def __init__(self, client: Any, parallelism: int) -> None:
        self.client = client
        self.parallelism = parallelism

    def run(
        self, make_task: Callable[[], TrialTask], finish: Callable[[TrialOutcome], None], n: int
    ) -> None:
        as_completed: Any = importlib.import_module("distributed").as_completed

        launched = 0
        first = [
            self.client.submit(run_trial, make_task(), pure=False)
            for _ in range(min(n, self.parallelism))
        ]
        launched = len(first)
        queue = as_completed(first)
        for future in queue:
            finish(future.result())
            if launched < n:
                queue.add(self.client.submit(run_trial, make_task(), pure=False))
                launched += 1


def check_executor(kind: str) -> None:
    """Raise MissingExtra now if ``kind`` needs an extra that is not installed.

    Called before the parent run is recorded, so a missing extra leaves no run behind.
    """
    if kind == "dask" and importlib.util.find_spec("distributed") is None:
        raise MissingExtra("dask", "tuning with executor='dask'")


@contextmanager
def open_executor(
    kind: str, parallelism: int, dask_address: str | None
) -> Iterator[_LocalPool | _DaskPool]:
    """The pool for ``kind``; a Dask local cluster is started and stopped here."""
    if kind == "local":
        yield _LocalPool(parallelism)
        return
    try:
        distributed: Any = importlib.import_module("distributed")
    except ImportError as exc:
        raise MissingExtra("dask", "tuning with --executor dask") from exc
    if dask_address:
        with distributed.Client(dask_address) as client:
            yield _DaskPool(client, parallelism)
        return
    with (
        distributed.LocalCluster(
            n_workers=parallelism,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            memory_limit="2GiB",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield _DaskPool(client, parallelism)
