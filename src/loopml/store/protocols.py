"""The Store protocols: one small Protocol per aggregate, composed into :class:`Store`.

Capabilities call these and nothing else. Arguments and results are plain values and
frozen entities, never database rows or sessions, so an HTTP client (``RestStore``) can
implement the same protocols without touching any caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from loopml.entities import (
        Lease,
        LineageEdge,
        LineageNode,
        Metric,
        PipelineRun,
        PipelineStatus,
        Run,
        RunStatus,
        Schedule,
        StepRun,
    )
    from loopml.ids import ObjectRef


@runtime_checkable
class RunStore(Protocol):
    """Runs with their params, tags and metric points."""

    def create_run(
        self,
        *,
        name: str,
        parent_id: str | None = None,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Run:
        """Create a RUNNING run with its params and tags in one transaction."""
        ...

    def get_run(self, run_id: str) -> Run:
        """Return the run with its params and tags; NotFound if absent."""
        ...

    def list_runs(
        self, *, status: RunStatus | None = None, limit: int = 100, offset: int = 0
    ) -> list[Run]:
        """Return runs, newest first."""
        ...

    def set_run_status(self, run_id: str, status: RunStatus, *, error: str | None = None) -> Run:
        """Move a run to ``status``; a terminal status stamps the end time."""
        ...

    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        """Record params; re-logging the same value is a no-op, a different one a Conflict."""
        ...

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set (or overwrite) tags."""
        ...

    def log_metrics(self, run_id: str, metrics: Sequence[Metric]) -> None:
        """Append metric points in one transaction (all or none)."""
        ...

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Return every point of one metric, ordered by step then time."""
        ...


@runtime_checkable
class LineageStore(Protocol):
    """Edges between any two objects, and walks over them."""

    def add_edges(self, edges: Sequence[LineageEdge]) -> None:
        """Record edges; recording an existing edge again is a no-op."""
        ...

    def upstream(self, ref: ObjectRef, *, depth: int = 100) -> list[LineageNode]:
        """Edges leading into ``ref``, transitively, at most ``depth`` hops away."""
        ...

    def downstream(self, ref: ObjectRef, *, depth: int = 100) -> list[LineageNode]:
        """Edges leading out of ``ref``, transitively, at most ``depth`` hops away."""
        ...


@runtime_checkable
class PipelineStore(Protocol):
    """Pipeline runs with their step runs, and the schedules that start them."""

    def create_pipeline_run(self, run: PipelineRun, steps: Sequence[StepRun]) -> PipelineRun:
        """Record a new pipeline run and its (pending) steps in one transaction."""
        ...

    def save_pipeline_run(self, run: PipelineRun) -> PipelineRun:
        """Overwrite the record of an existing pipeline run; NotFound if absent."""
        ...

    def get_pipeline_run(self, run_id: str) -> PipelineRun:
        """Return one pipeline run; NotFound if absent."""
        ...

    def list_pipeline_runs(
        self,
        *,
        pipeline: str | None = None,
        status: PipelineStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[PipelineRun]:
        """Return pipeline runs, newest first."""
        ...

    def list_step_runs(self, pipeline_run_id: str) -> list[StepRun]:
        """Return the steps of a pipeline run in definition order."""
        ...

    def save_step_run(self, step: StepRun, *, edges: Sequence[LineageEdge] = ()) -> StepRun:
        """Overwrite a step run's record and add lineage ``edges``, in one transaction."""
        ...

    def find_cached_step(self, cache_key: str) -> StepRun | None:
        """Return the newest step run that ran to completion with ``cache_key``."""
        ...

    def create_schedule(self, schedule: Schedule) -> Schedule:
        """Record a schedule; Conflict if the name is taken."""
        ...

    def list_schedules(self) -> list[Schedule]:
        """Return every schedule, soonest due first."""
        ...

    def get_schedule(self, name: str) -> Schedule:
        """Return a schedule by name; NotFound if absent."""
        ...

    def delete_schedule(self, name: str) -> None:
        """Remove a schedule by name; NotFound if absent."""
        ...

    def claim_schedule(
        self, schedule_id: str, *, due_at_ms: int, next_run_at_ms: int, run_id: str
    ) -> bool:
        """Atomically move a due schedule to its next time; True for the one winner."""
        ...


@runtime_checkable
class LeaseStore(Protocol):
    """Named, expiring locks shared by processes (agents, pipeline runners)."""

    def acquire_lease(self, name: str, owner: str, ttl_s: float) -> bool:
        """Take or extend a lease if free, expired or already ours; True if we hold it."""
        ...

    def release_lease(self, name: str, owner: str) -> None:
        """Give a lease back (no-op if ``owner`` does not hold it)."""
        ...

    def get_lease(self, name: str) -> Lease | None:
        """Return the lease, expired or not, or None."""
        ...


@runtime_checkable
class Store(RunStore, LineageStore, PipelineStore, LeaseStore, Protocol):
    """Everything the capabilities need from the metadata store."""

    def close(self) -> None:
        """Release connections."""
        ...
