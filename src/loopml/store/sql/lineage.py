"""SQL implementation of :class:`~loopml.store.protocols.LineageStore`.

Walks are one recursive CTE each (``WITH RECURSIVE`` works the same on SQLite and
PostgreSQL). ``UNION`` drops repeated (edge, depth) rows, and the depth bound ends cycles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, TextClause, text

from loopml.entities import LineageEdge, LineageNode
from loopml.errors import InvalidInput
from loopml.ids import ObjectRef
from loopml.store.sql import tables as t
from loopml.store.sql._engine import upsert_insert
from loopml.store.sql._time import now_ms

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loopml.store.sql._engine import Database

MAX_DEPTH = 10_000

_WALK = """
WITH RECURSIVE walk(src_kind, src_id, dst_kind, dst_id, relation, depth) AS (
    SELECT src_kind, src_id, dst_kind, dst_id, relation, 1
    FROM lineage_edges WHERE {near_kind} = :kind AND {near_id} = :id
    UNION
    SELECT e.src_kind, e.src_id, e.dst_kind, e.dst_id, e.relation, w.depth + 1
    FROM lineage_edges e JOIN walk w ON e.{near_kind} = w.{far_kind} AND e.{near_id} = w.{far_id}
    WHERE w.depth < :depth
)
SELECT src_kind, src_id, dst_kind, dst_id, relation, MIN(depth) AS depth
FROM walk GROUP BY src_kind, src_id, dst_kind, dst_id, relation
ORDER BY depth, src_kind, src_id, dst_kind, dst_id, relation
"""
_DOWN = text(
    _WALK.format(near_kind="src_kind", near_id="src_id", far_kind="dst_kind", far_id="dst_id")
)
_UP = text(
    _WALK.format(near_kind="dst_kind", near_id="dst_id", far_kind="src_kind", far_id="src_id")
)


def _check_depth(depth: int) -> None:
    if not 1 <= depth <= MAX_DEPTH:
        raise InvalidInput(
            f"lineage depth {depth} is out of range",
            hint=f"Use a depth between 1 and {MAX_DEPTH}.",
            depth=depth,
        )


def edge_rows(edges: Sequence[LineageEdge]) -> list[dict[str, object]]:
    """Validate edges and turn them into rows (repeats removed)."""
    for edge in edges:
        if not edge.relation or len(edge.relation) > 64:
            raise InvalidInput(
                f"invalid lineage relation {edge.relation!r} on {edge.src} -> {edge.dst}",
                hint="A relation is a non-empty name of at most 64 characters.",
            )
    stamp = now_ms()
    return [
        {
            "src_kind": e.src.kind,
            "src_id": e.src.id,
            "dst_kind": e.dst.kind,
            "dst_id": e.dst.id,
            "relation": e.relation,
            "created_at_ms": stamp,
        }
        for e in dict.fromkeys(edges)
    ]


def insert_edges(conn: Connection, rows: list[dict[str, object]]) -> None:
    """Insert edge rows inside the caller's transaction; existing edges are left alone."""
    if rows:
        insert_edge = upsert_insert(conn.dialect.name, t.lineage_edges)
        conn.execute(insert_edge.on_conflict_do_nothing(), rows)


class SqlLineageStore:
    """Lineage edges in one table, walked with recursive CTEs."""

    _db: Database

    def add_edges(self, edges: Sequence[LineageEdge]) -> None:
        """Record edges; an edge recorded before is left as it is."""
        if not edges:
            return
        rows = edge_rows(edges)
        with self._db.write() as conn:
            insert_edges(conn, rows)

    def upstream(self, ref: ObjectRef, *, depth: int = 100) -> list[LineageNode]:
        """Edges leading into ``ref``, transitively, at most ``depth`` hops away."""
        return self._walk(_UP, ref, depth)

    def downstream(self, ref: ObjectRef, *, depth: int = 100) -> list[LineageNode]:
        """Edges leading out of ``ref``, transitively, at most ``depth`` hops away."""
        return self._walk(_DOWN, ref, depth)

    def _walk(self, query: TextClause, ref: ObjectRef, depth: int) -> list[LineageNode]:
        _check_depth(depth)
        with self._db.read() as conn:
            rows = conn.execute(query, {"kind": ref.kind, "id": ref.id, "depth": depth})
            return [
                LineageNode(
                    depth=int(row.depth),
                    edge=LineageEdge(
                        ObjectRef(row.src_kind, row.src_id),
                        ObjectRef(row.dst_kind, row.dst_id),
                        row.relation,
                    ),
                )
                for row in rows
            ]
