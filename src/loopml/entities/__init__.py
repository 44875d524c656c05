"""Domain objects: frozen dataclasses, one module per aggregate, no I/O."""

from loopml.entities.lineage import LineageEdge, LineageNode
from loopml.entities.run import Metric, Run, RunStatus

__all__ = ["LineageEdge", "LineageNode", "Metric", "Run", "RunStatus"]
