"""The metadata store: protocols capabilities call, and the SQL implementation."""

from loopml.store._open import open_store
from loopml.store._operations import (
    AlertStore,
    DeploymentStore,
    GovernanceStore,
    MonitorStore,
    PredictionStore,
    TriggerStore,
)
from loopml.store.protocols import (
    ApprovalStore,
    DatasetStore,
    EvaluationStore,
    LeaseStore,
    LineageStore,
    MetricRow,
    ModelStore,
    PipelineStore,
    ReferenceStore,
    RunStore,
    Store,
)
from loopml.store.sql.audit import audit_source, current_audit_source

__all__ = [
    "AlertStore",
    "ApprovalStore",
    "DatasetStore",
    "DeploymentStore",
    "EvaluationStore",
    "GovernanceStore",
    "LeaseStore",
    "LineageStore",
    "MetricRow",
    "ModelStore",
    "MonitorStore",
    "PipelineStore",
    "PredictionStore",
    "ReferenceStore",
    "RunStore",
    "Store",
    "TriggerStore",
    "audit_source",
    "current_audit_source",
    "open_store",
]
