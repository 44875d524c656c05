"""Domain objects: frozen dataclasses, one module per aggregate, no I/O."""

from loopml.entities.approval import Decision, PromotionPolicy, PromotionRequest, RequestStatus
from loopml.entities.evaluation import Evaluation
from loopml.entities.lineage import LineageEdge, LineageNode
from loopml.entities.model import AliasMove, ModelEvent, ModelVersion, RegisteredModel
from loopml.entities.run import Metric, Run, RunStatus

__all__ = [
    "AliasMove",
    "Decision",
    "Evaluation",
    "LineageEdge",
    "LineageNode",
    "Metric",
    "ModelEvent",
    "ModelVersion",
    "PromotionPolicy",
    "PromotionRequest",
    "RegisteredModel",
    "RequestStatus",
    "Run",
    "RunStatus",
]
