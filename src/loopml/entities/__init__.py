"""Domain objects: frozen dataclasses, one module per aggregate, no I/O."""

from loopml.entities.lineage import LineageEdge, LineageNode
from loopml.entities.run import Metric, MetricSummary, Run, RunArtifact, RunStatus
from loopml.entities.run_query import BoolOp, Comparison, Condition, Not, OrderBy, RunQuery

__all__ = [
    "BoolOp",
    "Comparison",
    "Condition",
    "LineageEdge",
    "LineageNode",
    "Metric",
    "MetricSummary",
    "Not",
    "OrderBy",
    "Run",
    "RunArtifact",
    "RunQuery",
    "RunStatus",
]
