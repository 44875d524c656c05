"""The step graph: nodes, edges, and the checks that run before anything executes."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidPipeline

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from loopml.pipelines._definition import Step


@dataclass(frozen=True)
class Input:
    """An edge: parameter ``param`` of a node reads output ``index`` of node ``source``."""

    param: str
    source: str
    index: int | None = None

    @property
    def output_name(self) -> str:
        """The name of the source's output this input reads."""
        return "output" if self.index is None else f"output_{self.index}"


@dataclass(frozen=True)
class Node:
    """One call of a step inside a pipeline.

    Args:
        name: Unique name in the graph (the step's name, suffixed ``_2``... when repeated).
        step: The step called.
        inputs: Edges from other nodes' outputs.
        params: Literal arguments (from the pipeline's parameters or constants).
        where: ``file:line`` of the call, for error messages.
        n_outputs: None for one output, else the length of the tuple the step returns.
    """

    name: str
    step: Step[Any, Any]
    inputs: tuple[Input, ...] = ()
    params: Mapping[str, object] = field(default_factory=dict)
    where: str = "<unknown>"
    n_outputs: int | None = None

    @property
    def upstream(self) -> tuple[str, ...]:
        """Names of the nodes this one reads from, without repeats, in argument order."""
        return tuple(dict.fromkeys(i.source for i in self.inputs))

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of this node's outputs."""
        if self.n_outputs is None:
            return ("output",)
        return tuple(f"output_{i}" for i in range(self.n_outputs))


@dataclass(frozen=True)
class Graph:
    """A checked, immutable step graph in definition order.

    Build one with :meth:`Pipeline.graph <loopml.pipelines.Pipeline.graph>`; the
    constructor checks names, edges and cycles and raises InvalidPipeline naming the
    user's file:line.
    """

    pipeline: str
    nodes: tuple[Node, ...]

    def __post_init__(self) -> None:
        seen: dict[str, Node] = {}
        for node in self.nodes:
            if node.name in seen:
                raise InvalidPipeline(
                    f"{node.where}: step name {node.name!r} is used twice in pipeline "
                    f"{self.pipeline!r} (first at {seen[node.name].where})",
                    hint="Give one of them another name with step.with_options(name=...).",
                )
            seen[node.name] = node
        for node in self.nodes:
            for edge in node.inputs:
                source = seen.get(edge.source)
                if source is None:
                    raise InvalidPipeline(
                        f"{node.where}: input {edge.param!r} of step {node.name!r} reads from "
                        f"{edge.source!r}, which is not a step of pipeline {self.pipeline!r}",
                        hint="Pass outputs of steps called in the same pipeline function.",
                    )
                if edge.output_name not in source.output_names:
                    raise InvalidPipeline(
                        f"{node.where}: step {edge.source!r} has no output {edge.output_name!r}"
                    )
        self.order()  # raises on cycles

    def node(self, name: str) -> Node:
        """The node called ``name``; InvalidPipeline if there is none."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise InvalidPipeline(f"pipeline {self.pipeline!r} has no step {name!r}")

    def order(self) -> list[str]:
        """A topological order (Kahn's algorithm; ties keep definition order)."""
        position = {n.name: i for i, n in enumerate(self.nodes)}
        indegree = {n.name: len(n.upstream) for n in self.nodes}
        children: dict[str, list[str]] = {n.name: [] for n in self.nodes}
        for node in self.nodes:
            for up in node.upstream:
                children[up].append(node.name)
        ready = [(position[n], n) for n, d in indegree.items() if d == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, name = heapq.heappop(ready)
            order.append(name)
            for child in children[name]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    heapq.heappush(ready, (position[child], child))
        if len(order) != len(self.nodes):
            stuck = [n for n in self.nodes if n.name not in set(order)]
            cycle = " -> ".join(n.name for n in stuck)
            raise InvalidPipeline(
                f"{stuck[0].where}: pipeline {self.pipeline!r} has a cycle among steps {cycle}",
                hint="A step cannot depend, directly or not, on its own output.",
            )
        return order

    def descendants(self, name: str) -> set[str]:
        """Every node that reads, directly or not, from ``name``."""
        found: set[str] = set()
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for node in self.nodes:
                if current in node.upstream and node.name not in found:
                    found.add(node.name)
                    frontier.append(node.name)
        return found

    def to_json(self) -> dict[str, object]:
        """A JSON-able description (stored with each pipeline run, rendered by ``show``)."""
        steps: list[dict[str, object]] = []
        for node in self.nodes:
            steps.append(
                {
                    "name": node.name,
                    "step": f"{node.step.fn.__module__}.{node.step.fn.__qualname__}",
                    "upstream": list(node.upstream),
                    "inputs": {i.param: f"{i.source}.{i.output_name}" for i in node.inputs},
                    "params": sorted(node.params),
                    "where": node.where,
                }
            )
        return {"pipeline": self.pipeline, "steps": steps}


def check_names(names: Sequence[str]) -> None:
    """Refuse names that would not survive the store (empty or over 255 characters)."""
    for name in names:
        if not name or len(name) > 255:
            raise InvalidPipeline(f"invalid step or pipeline name {name!r}")
