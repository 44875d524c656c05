"""The layered graph layout and the parallel-coordinates geometry (pure functions)."""

from __future__ import annotations

from loopml.server._ui_compare import parallel
from loopml.server._ui_format import duration, num, size, when
from loopml.server._ui_graph import GraphEdge, GraphNode, layout


def _nodes(*keys: str) -> list[GraphNode]:
    return [GraphNode(k, k) for k in keys]


def test_layers_follow_the_longest_path_left_to_right() -> None:
    edges = [GraphEdge("data", "train"), GraphEdge("train", "model"), GraphEdge("data", "model")]
    placed = {p.node.key: p for p in layout(_nodes("model", "data", "train"), edges).nodes}
    assert placed["data"].x < placed["train"].x < placed["model"].x


def test_siblings_share_a_layer_without_overlapping() -> None:
    edges = [GraphEdge("a", "b"), GraphEdge("a", "c"), GraphEdge("a", "d")]
    graph = layout(_nodes("a", "b", "c", "d"), edges)
    kids = [p for p in graph.nodes if p.node.key != "a"]
    assert len({p.x for p in kids}) == 1
    ys = sorted(p.y for p in kids)
    assert all(b - a >= kids[0].h for a, b in zip(ys, ys[1:], strict=False))
    assert all(0 <= p.y and p.y + p.h <= graph.height for p in graph.nodes)
    assert all(p.x + p.w <= graph.width for p in graph.nodes)


def test_edges_to_unknown_nodes_and_cycles_do_not_break_it() -> None:
    edges = [GraphEdge("a", "b"), GraphEdge("b", "a"), GraphEdge("a", "ghost")]
    graph = layout(_nodes("a", "b"), edges)
    assert {p.node.key for p in graph.nodes} == {"a", "b"}
    assert len(graph.edges) == 2 and all(path.startswith("M") for _, path in graph.edges)


def test_the_loops_cycle_still_runs_left_to_right() -> None:
    # What a trigger chain records: the promotion links the deployment back to the firing.
    chain = ["alert", "fired", "pipeline", "step", "run", "v2", "deployment"]
    edges = [GraphEdge(a, b) for a, b in zip(chain, chain[1:], strict=False)]
    edges += [GraphEdge("deployment", "fired", "promoted"), GraphEdge("fired", "v2")]
    graph = layout(_nodes("v2", *chain[::-1]), edges)
    placed = {p.node.key: p for p in graph.nodes}
    xs = [placed[k].x for k in chain]
    assert xs == sorted(xs) and len(set(xs)) == len(chain)
    assert len(graph.edges) == len(edges)  # the closing edge is drawn too


def test_ordering_reduces_crossings() -> None:
    # Two chains drawn side by side: x1 -> y1 and x2 -> y2 must not cross.
    edges = [GraphEdge("x1", "y2"), GraphEdge("x2", "y1")]
    placed = {p.node.key: p for p in layout(_nodes("x1", "x2", "y1", "y2"), edges).nodes}
    assert (placed["x1"].y < placed["x2"].y) == (placed["y2"].y < placed["y1"].y)


def test_parallel_coordinates_scale_each_axis_to_its_range() -> None:
    axes, lines = parallel(["r1", "r2"], {"lr": {"r1": 0.1, "r2": 0.3}, "auc": {"r1": 0.9}})
    assert [a.name for a in axes] == ["lr", "auc"]
    first = lines[0][1].split()
    assert len(first) == 2 and len(lines[1][1].split()) == 1  # r2 has no auc
    assert parallel(["r"], {}) == ([], [])


def test_formatting() -> None:
    assert when(0) == "1970-01-01 00:00:00" and when(None) == ""
    assert num(0.123456) == "0.1235" and num(float("nan")) == "NaN" and num(None) == ""
    assert duration(0, 1500) == "1.5 s" and duration(0, 600_000) == "10.0 min"
    assert size(2048) == "2.0 KiB" and size(5) == "5 B"
