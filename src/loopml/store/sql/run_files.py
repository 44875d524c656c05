"""Run artifacts, soft delete, restore and purge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, insert, or_, select, update

from loopml.entities import RunArtifact
from loopml.errors import NotFound
from loopml.ids import check_artifact_path, check_digest
from loopml.store.sql import tables as t
from loopml.store.sql._time import now_ms

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loopml.store.sql._engine import Database


def _existing(conn: Connection, run_ids: Sequence[str]) -> set[str]:
    found = conn.execute(select(t.runs.c.id).where(t.runs.c.id.in_(list(run_ids))))
    return {row[0] for row in found}


def _with_descendants(conn: Connection, run_ids: Sequence[str]) -> set[str]:
    every, frontier = set(run_ids), set(run_ids)
    while frontier:
        children = conn.execute(select(t.runs.c.id).where(t.runs.c.parent_id.in_(list(frontier))))
        frontier = {row[0] for row in children} - every
        every |= frontier
    return every


def artifact_rows(run_id: str, artifacts: Sequence[RunArtifact]) -> list[dict[str, object]]:
    """Validated rows for ``run_artifacts`` (the last entry wins for a repeated path)."""
    rows = {}
    for a in artifacts:
        path = check_artifact_path(a.path)
        rows[path] = {
            "run_id": run_id,
            "path": path,
            "digest": check_digest(a.digest),
            "size": int(a.size),
        }
    return list(rows.values())


class SqlRunFiles:
    """Artifacts recorded by runs, and the soft-delete life cycle."""

    _db: Database

    def add_run_artifacts(self, run_id: str, artifacts: Sequence[RunArtifact]) -> None:
        """Record files of a run; a path recorded again points at the new blob."""
        if not artifacts:
            return
        rows = artifact_rows(run_id, artifacts)
        with self._db.write() as conn:
            if not _existing(conn, [run_id]):
                raise NotFound("run", run_id)
            conn.execute(
                delete(t.run_artifacts).where(
                    t.run_artifacts.c.run_id == run_id,
                    t.run_artifacts.c.path.in_([r["path"] for r in rows]),
                )
            )
            conn.execute(insert(t.run_artifacts), rows)

    def list_run_artifacts(self, run_id: str) -> list[RunArtifact]:
        """The files a run recorded, sorted by path."""
        a = t.run_artifacts
        with self._db.read() as conn:
            if not _existing(conn, [run_id]):
                raise NotFound("run", run_id)
            rows = conn.execute(
                select(a.c.path, a.c.digest, a.c.size)
                .where(a.c.run_id == run_id)
                .order_by(a.c.path)
            )
            return [RunArtifact(path, digest, int(size)) for path, digest, size in rows]

    def _set_deleted(self, run_ids: Sequence[str], value: int | None) -> None:
        with self._db.write() as conn:
            missing = sorted(set(run_ids) - _existing(conn, run_ids))
            if missing:
                raise NotFound("run", missing[0])
            targets = _with_descendants(conn, run_ids)
            conn.execute(
                update(t.runs).where(t.runs.c.id.in_(list(targets))).values(deleted_at_ms=value)
            )

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        """Soft-delete runs and their child runs; NotFound if one does not exist."""
        if run_ids:
            self._set_deleted(run_ids, now_ms())

    def restore_runs(self, run_ids: Sequence[str]) -> None:
        """Undo a soft delete (of the runs and their child runs)."""
        if run_ids:
            self._set_deleted(run_ids, None)

    def purge_deleted_runs(self, deleted_before_ms: int) -> list[str]:
        """Remove soft-deleted runs for good; return the blob digests nothing else refers to."""
        a, e = t.run_artifacts, t.lineage_edges
        with self._db.write() as conn:
            doomed = [
                row[0]
                for row in conn.execute(
                    select(t.runs.c.id).where(
                        t.runs.c.deleted_at_ms.is_not(None),
                        t.runs.c.deleted_at_ms <= deleted_before_ms,
                    )
                )
            ]
            if not doomed:
                return []
            digests: set[str] = set()
            for start in range(0, len(doomed), 500):
                chunk = doomed[start : start + 500]
                digests |= {
                    row[0] for row in conn.execute(select(a.c.digest).where(a.c.run_id.in_(chunk)))
                }
                for table in (t.metrics, t.latest_metrics, t.params, t.tags, a):
                    conn.execute(delete(table).where(table.c.run_id.in_(chunk)))
                conn.execute(
                    update(t.runs).where(t.runs.c.parent_id.in_(chunk)).values(parent_id=None)
                )
                conn.execute(delete(t.runs).where(t.runs.c.id.in_(chunk)))
            if not digests:
                return []
            kept: set[str] = set()
            listed = sorted(digests)
            for start in range(0, len(listed), 500):
                chunk = listed[start : start + 500]
                kept |= {
                    row[0] for row in conn.execute(select(a.c.digest).where(a.c.digest.in_(chunk)))
                }
                linked = conn.execute(
                    select(e.c.src_id, e.c.dst_id).where(
                        or_(
                            (e.c.src_kind == "artifact") & e.c.src_id.in_(chunk),
                            (e.c.dst_kind == "artifact") & e.c.dst_id.in_(chunk),
                        )
                    )
                )
                for src, dst in linked:
                    kept |= {src, dst}
            return sorted(digests - kept)
