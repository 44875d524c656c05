"""Domain objects: frozen dataclasses, one module per aggregate, no I/O."""

from loopml.entities.dataset import (
    Dataset,
    DatasetRef,
    DatasetSchema,
    DatasetVersion,
    PiiPolicy,
    RefKind,
)
from loopml.entities.lineage import LineageEdge, LineageNode
from loopml.entities.run import Metric, Run, RunStatus

__all__ = [
    "Dataset",
    "DatasetRef",
    "DatasetSchema",
    "DatasetVersion",
    "LineageEdge",
    "LineageNode",
    "Metric",
    "PiiPolicy",
    "RefKind",
    "Run",
    "RunStatus",
]
