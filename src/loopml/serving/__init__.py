"""Serving: the ASGI prediction server (Open Inference Protocol v2 and MLflow's scoring
format), adaptive micro-batching, the durable prediction log with feedback, and batch
scoring."""

from loopml.serving._feedback import (
    FeedbackResult,
    log_feedback,
    prediction_segments,
    read_predictions,
)
from loopml.serving._predlog import PredictionLog
from loopml.serving._records import PredictionRecord

__all__ = [
    "FeedbackResult",
    "PredictionLog",
    "PredictionRecord",
    "log_feedback",
    "prediction_segments",
    "read_predictions",
]
