"""Experiment tracking: runs with params, metrics, tags, artifacts, models and notes.

``start_run`` opens a run (a context manager; nested runs become children); metrics go to
an in-memory buffer that one background writer flushes in batches, so ``log_metric`` is a
non-blocking append. ``TrackingClient`` is the explicit API under it: search runs with a
filter language compiled to SQL, compare them, delete and garbage-collect. ``autolog``
records scikit-learn (and xgboost/lightgbm) training without code changes.
"""

from loopml.tracking._autolog import autolog
from loopml.tracking._capture import RunCapture, capture_runs
from loopml.tracking._client import GcReport, RunComparison, TrackingClient
from loopml.tracking._fluent import (
    active_run,
    default_client,
    log_metric,
    log_params,
    start_run,
    use_tracking,
)
from loopml.tracking._model import resolve_run_model
from loopml.tracking._query import parse_filter, parse_order_by
from loopml.tracking._run import ActiveRun, ModelInfo

__all__ = [
    "ActiveRun",
    "GcReport",
    "ModelInfo",
    "RunCapture",
    "RunComparison",
    "TrackingClient",
    "active_run",
    "autolog",
    "capture_runs",
    "default_client",
    "log_metric",
    "log_params",
    "parse_filter",
    "parse_order_by",
    "resolve_run_model",
    "start_run",
    "use_tracking",
]
