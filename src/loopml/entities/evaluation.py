"""Evaluations: a model measured on data, optionally judged by gates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class Evaluation:
    """A recorded evaluation; the full report is an artifact (``report_digest``).

    ``passed`` is None when no gates were applied.
    """

    id: str
    model_uri: str
    created_at_ms: int
    created_by: str
    model_name: str | None = None
    version: int | None = None
    data_fingerprint: str = ""
    passed: bool | None = None
    report_digest: str | None = None
    gates_digest: str | None = None
    summary: Mapping[str, float] = field(default_factory=dict)
