"""Domain objects: frozen dataclasses, one module per aggregate, no I/O."""

from loopml.entities.actor import Actor
from loopml.entities.alert import Alert, AlertKind, AlertSeverity, AlertState
from loopml.entities.approval import Decision, PromotionPolicy, PromotionRequest, RequestStatus
from loopml.entities.dataset import (
    Dataset,
    DatasetRef,
    DatasetSchema,
    DatasetVersion,
    PiiPolicy,
    RefKind,
)
from loopml.entities.deployment import (
    DEFAULT_STEPS,
    Arm,
    Deployment,
    DeploymentEvent,
    DeploymentEventKind,
    DeploymentStatus,
    DeploymentStrategy,
)
from loopml.entities.evaluation import Evaluation
from loopml.entities.feature import FeatureDefinition, FeatureWatermark
from loopml.entities.governance import (
    EMPTY_ROOT,
    AccountKind,
    AuditEntry,
    AuditEvent,
    Checkpoint,
    Outcome,
    RoleBinding,
    RolePermission,
    Token,
    User,
)
from loopml.entities.lineage import LineageEdge, LineageNode, Relation
from loopml.entities.model import AliasMove, ModelEvent, ModelVersion, RegisteredModel
from loopml.entities.monitor import MonitorWindow
from loopml.entities.pipeline import (
    Lease,
    PipelineRun,
    PipelineStatus,
    Schedule,
    StepOutput,
    StepRun,
    StepStatus,
)
from loopml.entities.prediction import Feedback, FeedbackEntry, PredictionSegment
from loopml.entities.references import ArtifactReferences
from loopml.entities.run import (
    MAX_KEY_LENGTH,
    MAX_PARAM_LENGTH,
    MAX_TAG_LENGTH,
    Metric,
    MetricSummary,
    Run,
    RunArtifact,
    RunStatus,
)
from loopml.entities.run_query import BoolOp, Comparison, Condition, Not, OrderBy, RunQuery
from loopml.entities.trigger import (
    CHAIN_OUTCOMES,
    Trigger,
    TriggerEvent,
    TriggerEventKind,
    TriggerKind,
)

__all__ = [
    "CHAIN_OUTCOMES",
    "DEFAULT_STEPS",
    "EMPTY_ROOT",
    "MAX_KEY_LENGTH",
    "MAX_PARAM_LENGTH",
    "MAX_TAG_LENGTH",
    "AccountKind",
    "Actor",
    "Alert",
    "AlertKind",
    "AlertSeverity",
    "AlertState",
    "AliasMove",
    "Arm",
    "ArtifactReferences",
    "AuditEntry",
    "AuditEvent",
    "BoolOp",
    "Checkpoint",
    "Comparison",
    "Condition",
    "Dataset",
    "DatasetRef",
    "DatasetSchema",
    "DatasetVersion",
    "Decision",
    "Deployment",
    "DeploymentEvent",
    "DeploymentEventKind",
    "DeploymentStatus",
    "DeploymentStrategy",
    "Evaluation",
    "FeatureDefinition",
    "FeatureWatermark",
    "Feedback",
    "FeedbackEntry",
    "Lease",
    "LineageEdge",
    "LineageNode",
    "Metric",
    "MetricSummary",
    "ModelEvent",
    "ModelVersion",
    "MonitorWindow",
    "Not",
    "OrderBy",
    "Outcome",
    "PiiPolicy",
    "PipelineRun",
    "PipelineStatus",
    "PredictionSegment",
    "PromotionPolicy",
    "PromotionRequest",
    "RefKind",
    "RegisteredModel",
    "Relation",
    "RequestStatus",
    "RoleBinding",
    "RolePermission",
    "Run",
    "RunArtifact",
    "RunQuery",
    "RunStatus",
    "Schedule",
    "StepOutput",
    "StepRun",
    "StepStatus",
    "Token",
    "Trigger",
    "TriggerEvent",
    "TriggerEventKind",
    "TriggerKind",
    "User",
]
