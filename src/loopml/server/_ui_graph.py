"""A layered (Sugiyama-style) layout for lineage graphs and pipeline DAGs, drawn as SVG.

Why not a JS layout library: the graphs the UI draws are small (tens of nodes), and a
layout computed here is a plain, testable function whose result the template turns into
SVG with real links, so the picture is navigable by keyboard and needs no script at all.
Layers come from the longest path from a source (a cycle's closing edge set aside); nodes
in a layer are ordered by the mean position of their neighbours (a few down and up
sweeps), which removes most crossings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

NODE_W = 190
NODE_H = 46
GAP_X = 70
GAP_Y = 22
PAD = 12


@dataclass(frozen=True)
class GraphNode:
    """A node to draw: ``key`` unique; ``href`` the page it links to; ``css`` a style."""

    key: str
    label: str
    sublabel: str = ""
    href: str | None = None
    css: str = ""


@dataclass(frozen=True)
class GraphEdge:
    """``src`` -> ``dst`` (node keys), with an optional label."""

    src: str
    dst: str
    label: str = ""


@dataclass
class PlacedNode:
    """A node with its box (top-left ``x``, ``y``)."""

    node: GraphNode
    x: int
    y: int
    w: int = NODE_W
    h: int = NODE_H


@dataclass
class Layout:
    """What the SVG template draws."""

    nodes: list[PlacedNode] = field(default_factory=list)
    edges: list[tuple[GraphEdge, str]] = field(default_factory=list)  # (edge, SVG path)
    width: int = 0
    height: int = 0


def _forward(keys: Sequence[str], edges: Sequence[GraphEdge]) -> list[GraphEdge]:
    """``edges`` without the back edges of a depth-first walk that starts at the sources.

    Lineage can hold a cycle: the closed loop records alert -> trigger event -> ... ->
    deployment -> (promoted) the same trigger event. Walking from the nodes nothing points
    at keeps the edges in the order things happened and drops the one that closes the loop,
    so layers still run left to right; the dropped edge is still drawn.
    """
    succs: dict[str, list[GraphEdge]] = {k: [] for k in keys}
    targets = set()
    for e in edges:
        succs[e.src].append(e)
        targets.add(e.dst)
    back: set[GraphEdge] = set()
    state: dict[str, int] = {}  # 1: on the walk's path, 2: done
    for start in [k for k in keys if k not in targets] + list(keys):
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(succs[start]))]
        while stack:
            key, todo = stack[-1]
            step = next(todo, None)
            if step is None:
                state[key] = 2
                stack.pop()
            elif state.get(step.dst) == 1:
                back.add(step)
            elif step.dst not in state:
                state[step.dst] = 1
                stack.append((step.dst, iter(succs[step.dst])))
    return [e for e in edges if e not in back]


def _layers(keys: Sequence[str], edges: Sequence[GraphEdge]) -> dict[str, int]:
    layer = dict.fromkeys(keys, 0)
    # Longest path by relaxation over an acyclic set of edges (len(keys) rounds at most).
    for _ in range(len(keys)):
        changed = False
        for e in edges:
            if layer[e.dst] < layer[e.src] + 1:
                layer[e.dst] = layer[e.src] + 1
                changed = True
        if not changed:
            break
    return layer


def layout(nodes: Sequence[GraphNode], edges: Sequence[GraphEdge]) -> Layout:
    """Place ``nodes`` left to right by layer; edges naming unknown nodes are dropped."""
    keys = list(dict.fromkeys(n.key for n in nodes))
    by_key = {n.key: n for n in nodes}
    edges = [e for e in dict.fromkeys(edges) if e.src in by_key and e.dst in by_key]
    edges = [e for e in edges if e.src != e.dst]
    layer = _layers(keys, _forward(keys, edges))
    columns: dict[int, list[str]] = {}
    for key in keys:
        columns.setdefault(layer[key], []).append(key)
    preds: dict[str, list[str]] = {k: [] for k in keys}
    succs: dict[str, list[str]] = {k: [] for k in keys}
    for e in edges:
        preds[e.dst].append(e.src)
        succs[e.src].append(e.dst)
    order = {k: i for col in columns.values() for i, k in enumerate(col)}

    def sweep(cols: list[int], neighbours: dict[str, list[str]]) -> None:
        for c in cols:
            col = columns[c]
            # Computed before sorting: list.sort empties the list while it runs.
            centres = {
                k: sum(order[n] for n in neighbours[k]) / len(neighbours[k])
                if neighbours[k]
                else float(order[k])
                for k in col
            }
            col.sort(key=centres.__getitem__)
            for i, k in enumerate(col):
                order[k] = i

    ranks = sorted(columns)
    for _ in range(3):
        sweep(ranks[1:], preds)
        sweep(list(reversed(ranks[:-1])), succs)
    tallest = max((len(c) for c in columns.values()), default=0)
    height = PAD * 2 + tallest * NODE_H + max(0, tallest - 1) * GAP_Y
    out = Layout(width=PAD * 2 + len(ranks) * NODE_W + max(0, len(ranks) - 1) * GAP_X)
    out.height = height
    placed: dict[str, PlacedNode] = {}
    for c_index, c in enumerate(ranks):
        col = columns[c]
        span = len(col) * NODE_H + max(0, len(col) - 1) * GAP_Y
        top = (height - span) // 2
        for i, key in enumerate(col):
            x = PAD + c_index * (NODE_W + GAP_X)
            placed[key] = PlacedNode(by_key[key], x, top + i * (NODE_H + GAP_Y))
    out.nodes = [placed[k] for k in keys]
    for e in edges:
        a, b = placed[e.src], placed[e.dst]
        x1, y1 = a.x + a.w, a.y + a.h // 2
        x2, y2 = b.x, b.y + b.h // 2
        if x2 <= x1:  # same or earlier layer (cycle): route around the right side
            x2 = b.x + b.w
        mid = (x1 + x2) // 2
        out.edges.append((e, f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"))
    return out


__all__ = ["GraphEdge", "GraphNode", "Layout", "PlacedNode", "layout"]
