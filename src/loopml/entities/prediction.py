"""Prediction log: sealed segments of logged predictions, and ground-truth feedback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PredictionSegment:
    """One sealed Parquet file of logged predictions, stored in the artifact store.

    Attributes:
        id: The segment id (the id of the spool file it was sealed from).
        model: Registered model name, or the folder name of a model served from a path.
        version: Registered version number; None for a model served from a path.
        deployment: Deployment name; None for a plain ``loopml serve``.
        digest: sha256 of the Parquet file in the artifact store.
        rows: Rows in the file (a request of n rows logs n rows).
        predictions: Distinct prediction ids in the file.
        start_ms: Earliest ``time_ms`` of a row (unix ms).
        end_ms: Latest ``time_ms`` of a row (unix ms).
        size: Bytes of the Parquet file.
        created_at_ms: When the segment was sealed.
    """

    id: str
    model: str
    version: int | None
    deployment: str | None
    digest: str
    rows: int
    predictions: int
    start_ms: int
    end_ms: int
    size: int
    created_at_ms: int = 0


@dataclass(frozen=True)
class Feedback:
    """The ground-truth label of one prediction (``row`` None: every row of it).

    Attributes:
        prediction_id: The prediction the label is for.
        row: The row within the prediction, or None for a label of the whole prediction.
        label: The label, any JSON value.
        updates: How many times a label was logged for this prediction and row (the
            latest wins; 1 means it was never replaced).
        created_at_ms: When the first label arrived.
        updated_at_ms: When the latest label arrived.
        actor: Who logged the latest label.
    """

    prediction_id: str
    row: int | None
    label: Any
    updates: int
    created_at_ms: int
    updated_at_ms: int
    actor: str


@dataclass(frozen=True)
class FeedbackEntry:
    """One label to record: what :meth:`PredictionStore.log_feedback` takes."""

    prediction_id: str
    label: Any
    row: int | None = None
