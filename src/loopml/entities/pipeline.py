"""Pipelines: pipeline runs, step runs, schedules and leases."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class PipelineStatus(StrEnum):
    """Lifecycle of a pipeline run."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        """True for COMPLETED and FAILED."""
        return self is not PipelineStatus.RUNNING


class StepStatus(StrEnum):
    """Lifecycle of one step in a pipeline run.

    ``SKIPPED`` means an upstream step failed, so this one could not run.
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    CACHED = "CACHED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"

    @property
    def is_done(self) -> bool:
        """True when the step's outputs exist (it ran or was served from the cache)."""
        return self in (StepStatus.COMPLETED, StepStatus.CACHED)


@dataclass(frozen=True)
class StepOutput:
    """One output of a step, stored in the artifact store.

    Args:
        name: Output name (``"output"``, or ``"output_0"``... for tuple outputs).
        digest: sha256 of the stored bytes.
        materialiser: Name of the materialiser that wrote (and reads) the bytes.
        type_name: Qualified name of the Python type that was stored.
        size: Size in bytes.
    """

    name: str
    digest: str
    materialiser: str
    type_name: str
    size: int = 0


@dataclass(frozen=True)
class StepRun:
    """The record of one step in one pipeline run.

    Times are integer milliseconds since the epoch; durations are seconds. ``run_id`` may
    later point at a tracking run made by the step. ``cached_from`` names the step run whose
    outputs a cache hit reused. ``log_digest`` is the artifact holding the captured output
    (stdout, stderr and logging) of the latest attempt, if one ran.
    """

    id: str
    pipeline_run_id: str
    name: str
    status: StepStatus = StepStatus.PENDING
    upstream: Sequence[str] = ()
    cache_key: str | None = None
    cache_hit: bool = False
    cached_from: str | None = None
    attempts: int = 0
    started_at_ms: int | None = None
    ended_at_ms: int | None = None
    wall_s: float | None = None
    cpu_s: float | None = None
    gpu_s: float | None = None
    peak_memory_bytes: int | None = None
    cost: float | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)
    outputs: Sequence[StepOutput] = ()
    params: Mapping[str, str] = field(default_factory=dict)
    worker: str | None = None
    run_id: str | None = None
    error: str | None = None
    log_digest: str | None = None


@dataclass(frozen=True)
class PipelineRun:
    """The record of one pipeline run.

    ``target`` is the ``module:attr`` the pipeline can be imported from (for resume and
    schedules), ``graph`` the step graph as recorded when the run started.
    """

    id: str
    pipeline: str
    status: PipelineStatus
    created_at_ms: int
    target: str | None = None
    executor: str = "local"
    cache: bool = True
    params: Mapping[str, object] = field(default_factory=dict)
    graph: Mapping[str, object] = field(default_factory=dict)
    ended_at_ms: int | None = None
    resumes: int = 0
    schedule_id: str | None = None
    cost: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class Schedule:
    """A pipeline started on a cron schedule by ``loopml agent``."""

    id: str
    name: str
    target: str
    cron: str
    next_run_at_ms: int
    created_at_ms: int
    params: Mapping[str, object] = field(default_factory=dict)
    enabled: bool = True
    last_run_id: str | None = None


@dataclass(frozen=True)
class Lease:
    """A named, expiring lock held by one owner (an agent or a pipeline runner)."""

    name: str
    owner: str
    expires_at_ms: int
    acquired_at_ms: int
