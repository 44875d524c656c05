"""Runs: one execution of user code whose params, metrics and tags are recorded."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Most characters in a param, tag or metric key (and a run name).
MAX_KEY_LENGTH = 255
#: Most characters in a param value (MLflow's limit, so imported runs fit).
MAX_PARAM_LENGTH = 6000
#: Most characters in a tag value (MLflow's limit).
MAX_TAG_LENGTH = 8000


class RunStatus(StrEnum):
    """Lifecycle of a run. RUNNING is the only non-terminal state."""

    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    CRASHED = "CRASHED"

    @property
    def is_terminal(self) -> bool:
        """True for every state but RUNNING."""
        return self is not RunStatus.RUNNING


@dataclass(frozen=True)
class Run:
    """A recorded run.

    Times are integer milliseconds since the Unix epoch (UTC).
    """

    id: str
    name: str
    status: RunStatus
    created_at_ms: int
    parent_id: str | None = None
    ended_at_ms: int | None = None
    error: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    notes: str | None = None
    heartbeat_ms: int | None = None
    deleted_at_ms: int | None = None

    @property
    def is_deleted(self) -> bool:
        """True once the run was soft-deleted (it stays readable until ``runs gc``)."""
        return self.deleted_at_ms is not None


@dataclass(frozen=True)
class Metric:
    """One metric point. ``value`` may be NaN or +/-inf; they round-trip through the store."""

    key: str
    value: float
    step: int = 0
    timestamp_ms: int = 0

    def same_as(self, other: Metric) -> bool:
        """Equality that treats two NaN values as equal."""
        both_nan = math.isnan(self.value) and math.isnan(other.value)
        return (
            self.key == other.key
            and self.step == other.step
            and self.timestamp_ms == other.timestamp_ms
            and (both_nan or self.value == other.value)
        )


@dataclass(frozen=True)
class RunArtifact:
    """A file recorded by a run: its path inside the run, and the blob holding its bytes."""

    path: str
    digest: str
    size: int


@dataclass(frozen=True)
class MetricSummary:
    """One metric of one run, summarised: latest point, extremes and point count."""

    run_id: str
    key: str
    latest: float
    latest_step: int
    min: float
    max: float
    count: int
