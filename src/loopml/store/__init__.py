"""The metadata store: protocols capabilities call, and the SQL implementation."""

from loopml.store._open import open_store
from loopml.store.protocols import (
    ApprovalStore,
    DatasetStore,
    EvaluationStore,
    LeaseStore,
    LineageStore,
    MetricRow,
    ModelStore,
    PipelineStore,
    PredictionStore,
    ReferenceStore,
    RunStore,
    Store,
)

__all__ = [
    "ApprovalStore",
    "DatasetStore",
    "EvaluationStore",
    "LeaseStore",
    "LineageStore",
    "MetricRow",
    "ModelStore",
    "PipelineStore",
    "PredictionStore",
    "ReferenceStore",
    "RunStore",
    "Store",
    "open_store",
]
