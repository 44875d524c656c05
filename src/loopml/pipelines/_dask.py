"""The Dask executor: each step attempt is one Dask task (``dask`` extra)."""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput, MissingExtra
from loopml.pipelines._executors import _result, hidden_main
from loopml.pipelines._worker import execute_task

if TYPE_CHECKING:
    from collections.abc import Callable

    from loopml.pipelines._worker import Task, TaskResult


class DaskExecutor:
    """Runs steps as tasks on a Dask cluster.

    Connects to ``address`` (or the ``dask_address`` setting, ``LOOPML_DASK_ADDRESS``);
    without one it starts a ``LocalCluster`` of worker processes bound to 127.0.0.1, whose
    workers offer ``cpu`` and ``memory`` resources. Steps' ``resources`` become Dask
    worker resources wherever the cluster's workers declare them.

    Args:
        address: Scheduler address, e.g. ``tcp://10.0.0.5:8786``.
        n_workers: Workers of the local cluster (default: the CPU count).
        memory_limit: Memory per local worker (Dask syntax, e.g. ``"2GiB"``).
    """

    name = "dask"

    def __init__(
        self,
        *,
        address: str | None = None,
        n_workers: int | None = None,
        memory_limit: str = "2GiB",
    ) -> None:
        if n_workers is not None and n_workers < 1:
            raise InvalidInput(f"n_workers must be at least 1, got {n_workers}")
        self.address = address
        self.n_workers = n_workers or os.cpu_count() or 1
        self.memory_limit = memory_limit
        self._client: Any = None
        self._cluster: Any = None
        self._offered: dict[str, float] = {}

    @property
    def capacity(self) -> float | None:
        """None: Dask places tasks on workers itself."""
        return None

    def _start(self) -> Any:
        if self._client is not None:
            return self._client
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise MissingExtra("dask", "the Dask pipeline executor") from exc
        from loopml.pipelines._definition import parse_memory

        if self.address:
            self._client = Client(  # type: ignore[no-untyped-call]
                self.address, set_as_default=False
            )
        else:
            with hidden_main():
                self._cluster = self._local_cluster(LocalCluster, parse_memory)
            self._client = Client(  # type: ignore[no-untyped-call]
                self._cluster, set_as_default=False
            )
        workers = self._client.scheduler_info().get("workers", {})
        for info in workers.values():
            for key, amount in info.get("resources", {}).items():
                self._offered[key] = max(self._offered.get(key, 0.0), float(amount))
        return self._client

    def _local_cluster(self, cls: Any, parse_memory: Any) -> Any:
        return cls(
            n_workers=self.n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            memory_limit=self.memory_limit,
            resources={"cpu": 1, "memory": parse_memory(self.memory_limit)},
        )

    def submit(
        self, task: Task, resources: dict[str, float], done: Callable[[TaskResult], None]
    ) -> object:
        """Submit ``task`` as a Dask task."""
        client = self._start()
        # Ask only for what workers declare, and never more than the largest worker has.
        wanted = {
            k: min(v, self._offered[k]) for k, v in resources.items() if k in self._offered and v
        }
        future = client.submit(
            execute_task,
            task,
            key=f"loopml-{task.step}-{uuid.uuid4().hex}",
            pure=False,
            resources=wanted or None,
        )
        future.add_done_callback(lambda f: done(_result(f, task)))
        return future

    def cancel(self, handle: object) -> None:
        """Cancel the Dask task."""
        if self._client is not None:
            self._client.cancel([handle])

    def close(self) -> None:
        """Close the client and any local cluster this executor started."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
