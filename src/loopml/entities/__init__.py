"""Domain objects: frozen dataclasses, one module per aggregate, no I/O."""

from loopml.entities.lineage import LineageEdge, LineageNode
from loopml.entities.pipeline import (
    Lease,
    PipelineRun,
    PipelineStatus,
    Schedule,
    StepOutput,
    StepRun,
    StepStatus,
)
from loopml.entities.run import Metric, Run, RunStatus

__all__ = [
    "Lease",
    "LineageEdge",
    "LineageNode",
    "Metric",
    "PipelineRun",
    "PipelineStatus",
    "Run",
    "RunStatus",
    "Schedule",
    "StepOutput",
    "StepRun",
    "StepStatus",
]
