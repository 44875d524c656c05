"""Every artifact digest the metadata store names (for garbage collection).

One read transaction, so the answer is one consistent snapshot. Columns are read with
``SELECT DISTINCT``; only step outputs (a JSON list per step run) are parsed in Python.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import Column, select

from loopml.entities import ArtifactReferences
from loopml.store.sql import tables as t

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from loopml.store.sql._engine import Database

_DIRECT: tuple[Column[str], ...] = (
    t.run_artifacts.c.digest,
    t.dataset_schemas.c.digest,
    t.model_versions.c.gates_digest,
    t.evaluations.c.report_digest,
    t.evaluations.c.gates_digest,
    t.prediction_segments.c.digest,
    t.step_runs.c.log_digest,
)


def _column(conn: Connection, column: Column[str]) -> set[str]:
    rows = conn.execute(select(column).distinct().where(column.is_not(None)))
    return {row[0] for row in rows}


def _edge_ends(conn: Connection) -> set[str]:
    e = t.lineage_edges
    found = {r[0] for r in conn.execute(select(e.c.src_id).where(e.c.src_kind == "artifact"))}
    found |= {r[0] for r in conn.execute(select(e.c.dst_id).where(e.c.dst_kind == "artifact"))}
    return found


def _step_outputs(conn: Connection) -> set[str]:
    found: set[str] = set()
    for (text,) in conn.execute(select(t.step_runs.c.outputs_json)):
        found.update(str(output["digest"]) for output in json.loads(text or "[]"))
    return found


class SqlReferenceStore:
    """:class:`~loopml.store.protocols.ReferenceStore` on the SQL tables."""

    _db: Database

    def artifact_references(self) -> ArtifactReferences:
        """Every digest a record names, and the manifests whose contents are named too."""
        with self._db.read() as conn:
            objects: set[str] = set()
            for column in _DIRECT:
                objects |= _column(conn, column)
            objects |= _edge_ends(conn)
            objects |= _step_outputs(conn)
            v = t.dataset_versions
            datasets = {
                digest: version_id
                for digest, version_id in conn.execute(select(v.c.manifest_digest, v.c.id))
            }
            m, mv = t.models, t.model_versions
            query = select(mv.c.manifest_digest, m.c.name, mv.c.number).join(
                m, m.c.id == mv.c.model_id
            )
            models = {digest: f"{name}/{number}" for digest, name, number in conn.execute(query)}
        return ArtifactReferences(frozenset(objects), datasets, models)
