"""Monitor windows: one computed window of a deployment's or a model's prediction log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MonitorWindow:
    """The drift and performance of one window of logged predictions.

    Attributes:
        id: The window's id (stable: recomputing the same window updates it in place).
        scope: What was monitored: ``deployment:NAME`` or ``model:NAME`` (or
            ``model:NAME/VERSION``).
        plan: The window plan (``1000``, ``1000/250``, ``1h``, ``1h/15m``).
        start_ms: Start of the window (unix ms; for count windows, its first row's time).
        end_ms: End of the window (exclusive).
        rows: Logged rows in the window.
        complete: False while the window can still gain rows (the latest one).
        drifted: True when any feature, prediction or the multivariate check drifted.
        drift: Per column: ``{"drifted": bool, "role": ..., "effects": {test: effect}}``;
            count windows also keep ``"__offset__": {"rows": N}`` (their first row's
            position in the log), which is not a column.
        realised: Realised metrics from the labels known when it was computed.
        estimated: Estimated (CBPE) metrics, where the model logs probabilities.
        labelled: Rows with a label when it was computed.
        model: The model whose predictions these are (the latest one in the window).
        version: Its version.
        deployment: The deployment, if any.
        report_digest: Artifact digest of the full drift report (``loopml.drift/1`` JSON).
        created_at_ms: When it was first stored.
        updated_at_ms: When it was last recomputed.
    """

    id: str
    scope: str
    plan: str
    start_ms: int
    end_ms: int
    rows: int
    complete: bool
    drifted: bool
    drift: dict[str, Any] = field(default_factory=dict)
    realised: dict[str, float | None] = field(default_factory=dict)
    estimated: dict[str, float | None] = field(default_factory=dict)
    labelled: int = 0
    model: str | None = None
    version: int | None = None
    deployment: str | None = None
    report_digest: str | None = None
    created_at_ms: int = 0
    updated_at_ms: int = 0
