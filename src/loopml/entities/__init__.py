"""Domain objects: frozen dataclasses, one module per aggregate, no I/O."""

from loopml.entities.approval import Decision, PromotionPolicy, PromotionRequest, RequestStatus
from loopml.entities.dataset import (
    Dataset,
    DatasetRef,
    DatasetSchema,
    DatasetVersion,
    PiiPolicy,
    RefKind,
)
from loopml.entities.evaluation import Evaluation
from loopml.entities.lineage import LineageEdge, LineageNode
from loopml.entities.model import AliasMove, ModelEvent, ModelVersion, RegisteredModel
from loopml.entities.run import Metric, Run, RunStatus

__all__ = [
    "AliasMove",
    "Dataset",
    "DatasetRef",
    "DatasetSchema",
    "DatasetVersion",
    "Decision",
    "Evaluation",
    "LineageEdge",
    "LineageNode",
    "Metric",
    "ModelEvent",
    "ModelVersion",
    "PiiPolicy",
    "PromotionPolicy",
    "PromotionRequest",
    "RefKind",
    "RegisteredModel",
    "RequestStatus",
    "Run",
    "RunStatus",
]
