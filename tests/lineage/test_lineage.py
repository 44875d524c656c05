"""The lineage API on a real store: link, walks, trees, and a 10,000-edge graph."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.entities import LineageEdge
from loopml.ids import ObjectRef
from loopml.lineage import build_tree, downstream, link, upstream
from loopml.store.sql import SqlStore
from loopml.workspace import use_store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'l.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    with SqlStore(url) as opened:
        yield opened


def test_link_accepts_text_refs_and_uses_current_store(store: SqlStore) -> None:
    with use_store(store):
        edge = link("dataset_version:d1", "run:r1", "trained_on")
        assert edge.src == ObjectRef("dataset_version", "d1")
        assert [n.edge for n in upstream("run:r1")] == [edge]
        assert [n.edge for n in downstream(ObjectRef("dataset_version", "d1"))] == [edge]


def test_tree_marks_objects_met_twice(store: SqlStore) -> None:
    for src, dst in [
        ("run:a", "run:b"),
        ("run:a", "run:c"),
        ("run:b", "run:d"),
        ("run:c", "run:d"),
    ]:
        link(src, dst, "made", store=store)
    root = ObjectRef("run", "a")
    tree = build_tree(root, downstream(root, store=store), direction="down")
    assert [str(c.ref) for c in tree.children] == ["run:b", "run:c"]
    grandchildren = [g for c in tree.children for g in c.children]
    assert [(str(g.ref), g.repeated) for g in grandchildren] == [("run:d", False), ("run:d", True)]


def test_ten_thousand_edge_graph(store: SqlStore) -> None:
    """A layered DAG of 10,000 edges: walks return exactly the reachable edges."""
    rng = random.Random(0)
    layers = [[ObjectRef("artifact", f"n{layer}-{i}") for i in range(100)] for layer in range(101)]
    edges: set[LineageEdge] = set()
    for layer in range(100):
        for node in layers[layer + 1]:
            edges.add(LineageEdge(layers[layer][rng.randrange(100)], node, "made"))
    while len(edges) < 10_000:
        layer = rng.randrange(100)
        edges.add(
            LineageEdge(
                layers[layer][rng.randrange(100)], layers[layer + 1][rng.randrange(100)], "made"
            )
        )
    store.add_edges(sorted(edges))

    start = layers[0][0]
    reach, frontier = set(), {start}
    while frontier:
        step = {e for e in edges if e.src in frontier} - reach
        reach |= step
        frontier = {e.dst for e in step}
    walked = store.downstream(start, depth=200)
    assert {n.edge for n in walked} == reach
    assert all(n.depth == int(n.edge.src.id.split("-")[0][1:]) + 1 for n in walked)

    end = layers[100][0]
    up = store.upstream(end, depth=3)
    assert up and all(n.depth <= 3 for n in up)
