"""Lineage walks on a 10,000-edge graph, on SQLite and PostgreSQL.

Run: .venv/bin/python benchmarks/lineage.py [--postgres URL] [--repeat 7]

Builds a layered DAG (a root above 101 layers of 100 objects, 10,000 edges), then times upstream and
downstream walks from nodes at the ends and in the middle. Prints the median of several
runs per query (the machines are noisy).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from loopml.entities import LineageEdge
from loopml.ids import ObjectRef
from loopml.store.sql import SqlStore


def build_graph(seed: int = 0) -> tuple[list[list[ObjectRef]], list[LineageEdge]]:
    rng = random.Random(seed)
    layers = [[ObjectRef("artifact", f"n{d}-{i}") for i in range(100)] for d in range(101)]
    edges: set[LineageEdge] = set()
    for d in range(100):
        for node in layers[d + 1]:
            edges.add(LineageEdge(layers[d][rng.randrange(100)], node, "made"))
    root = ObjectRef("dataset", "root")
    edges.update(LineageEdge(root, node, "made") for node in layers[0])
    while len(edges) < 10_000:
        d = rng.randrange(100)
        edges.add(
            LineageEdge(layers[d][rng.randrange(100)], layers[d + 1][rng.randrange(100)], "made")
        )
    return layers, sorted(edges)


def bench(label: str, store: SqlStore, repeat: int) -> None:
    layers, edges = build_graph()
    started = time.perf_counter()
    store.add_edges(edges)
    print(f"{label}: inserted {len(edges):,} edges in {time.perf_counter() - started:.3f} s")
    cases = {
        "downstream from the root (all)": (store.downstream, ObjectRef("dataset", "root")),
        "downstream from first layer": (store.downstream, layers[0][0]),
        "upstream from last layer": (store.upstream, layers[100][0]),
        "downstream from middle": (store.downstream, layers[50][0]),
        "upstream from middle": (store.upstream, layers[50][0]),
    }
    for name, (walk, ref) in cases.items():
        times, found = [], 0
        for _ in range(repeat):
            started = time.perf_counter()
            found = len(walk(ref, depth=200))
            times.append(time.perf_counter() - started)
        print(
            f"  {name:<30} {found:>6,} edges  median {statistics.median(times) * 1000:8.1f} ms"
            f"  (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", help="SQLAlchemy URL of an EMPTY PostgreSQL database")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        SqlStore(f"sqlite:///{Path(folder) / 'b.db'}") as store,
    ):
        bench("sqlite", store, args.repeat)
    if args.postgres:
        with SqlStore(args.postgres, migrate=True) as store:
            bench("postgresql", store, args.repeat)


if __name__ == "__main__":
    main()
