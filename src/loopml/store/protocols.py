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
        LineageEdge,
        LineageNode,
        Metric,
        MetricSummary,
        Run,
        RunArtifact,
        RunQuery,
        RunStatus,
    )
    from loopml.ids import ObjectRef

#: One metric point on the fast path: (run_id, key, step, timestamp_ms, value or None for NaN).
MetricRow = tuple[str, str, int, int, float | None]


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
        notes: str | None = None,
        heartbeat: bool = False,
        artifacts: Sequence[RunArtifact] = (),
    ) -> Run:
        """Create a RUNNING run with its params and tags in one transaction.

        ``heartbeat=True`` stamps a first heartbeat: the run then counts as CRASHED once
        its heartbeat goes stale (see :meth:`mark_stale_runs_crashed`). ``artifacts`` are
        recorded in the same transaction.
        """
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

    # -- tracking (0002_tracking) ---------------------------------------------------------

    def append_metric_rows(self, rows: Sequence[MetricRow]) -> None:
        """Append points of any runs in one transaction (all or none), keeping latest values.

        The fast path of the background writer: rows are plain tuples, already validated,
        NaN given as None. NotFound if a run does not exist.
        """
        ...

    def metric_summaries(self, run_ids: Sequence[str]) -> list[MetricSummary]:
        """Latest value, min, max and point count of every metric of the given runs."""
        ...

    def search_runs(self, query: RunQuery) -> list[Run]:
        """Runs matching ``query`` (filter, sort and paging run in the database)."""
        ...

    def count_runs(self, query: RunQuery) -> int:
        """How many runs match ``query`` (its paging ignored)."""
        ...

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        """Stamp the heartbeat of RUNNING runs with the current time."""
        ...

    def mark_stale_runs_crashed(self, stale_before_ms: int) -> list[str]:
        """Move RUNNING runs whose heartbeat is older than ``stale_before_ms`` to CRASHED.

        Returns the ids of the runs moved.
        """
        ...

    def set_notes(self, run_id: str, notes: str) -> None:
        """Replace the free-text notes of a run."""
        ...

    def add_run_artifacts(self, run_id: str, artifacts: Sequence[RunArtifact]) -> None:
        """Record files of a run; a path recorded again points at the new blob."""
        ...

    def list_run_artifacts(self, run_id: str) -> list[RunArtifact]:
        """The files a run recorded, sorted by path."""
        ...

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        """Soft-delete runs (and their child runs); NotFound if one does not exist."""
        ...

    def restore_runs(self, run_ids: Sequence[str]) -> None:
        """Undo a soft delete."""
        ...

    def purge_deleted_runs(self, deleted_before_ms: int) -> list[str]:
        """Remove soft-deleted runs for good; return the blob digests they alone referenced.

        A digest is returned only when no remaining run artifact and no lineage edge
        (``artifact:<digest>``) refers to it, so the caller may delete those blobs.
        """
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
class Store(RunStore, LineageStore, Protocol):
    """Everything the capabilities need from the metadata store."""

    def close(self) -> None:
        """Release connections."""
        ...
