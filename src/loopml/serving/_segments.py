"""Sealing: a spool file becomes a Parquet segment in the artifact store, indexed in the store.

The order makes a crash at any point harmless: the Parquet bytes go into the artifact store
(content addressed, so writing them twice keeps one object), then the segment row, its
prediction ids and its lineage edge are written in one transaction, and only then is the
spool file deleted. A crash before the transaction leaves the spool file to seal again; a
crash after it leaves a spool file whose segment id is indexed already (Conflict), which
is then just deleted.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from loopml import lineage
from loopml.entities import PredictionSegment
from loopml.errors import Conflict, NotFound
from loopml.ids import ObjectKind, ObjectRef
from loopml.serving._records import group_of
from loopml.serving._spool import claim_orphan, read_spool

if TYPE_CHECKING:
    from pathlib import Path

    import pyarrow as pa

    from loopml.serving._records import GroupKey
    from loopml.workspace import Workspace

log = logging.getLogger(__name__)


def parquet_bytes(table: pa.Table) -> pa.Buffer:
    """The table as one Parquet file (zstd, dictionary-encoded strings)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


class Sealer:
    """Seals tables of one workspace; remembers model-version ids for the lineage edges."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._version_ids: dict[tuple[str, int], str | None] = {}

    def _version_ref(self, model: str, version: int | None) -> ObjectRef | None:
        if version is None:
            return None
        key = (model, version)
        if key not in self._version_ids:
            try:
                found: str | None = self.workspace.store.get_model_version(model, version).id
            except NotFound:
                found = None  # a model served from a path, not (or no longer) registered
            self._version_ids[key] = found
        version_id = self._version_ids[key]
        return None if version_id is None else ObjectRef(ObjectKind.MODEL_VERSION, version_id)

    def seal(self, segment_id: str, group: GroupKey, table: pa.Table) -> PredictionSegment | None:
        """Store and index ``table`` as segment ``segment_id``; None when it has no rows.

        Raises:
            Conflict: The segment is indexed already (a retry after a crash).
        """
        import pyarrow.compute as pc

        if table.num_rows == 0:
            return None
        data = parquet_bytes(table)
        digest = self.workspace.artifacts.put(memoryview(data))
        times = pc.min_max(table["time_ms"]).as_py()
        ids = pc.unique(table["prediction_id"]).to_pylist()
        model, version, deployment = group
        segment = PredictionSegment(
            id=segment_id,
            model=model,
            version=version,
            deployment=deployment,
            digest=digest,
            rows=table.num_rows,
            predictions=len(ids),
            start_ms=int(times["min"]),
            end_ms=int(times["max"]),
            size=data.size,
        )
        ref = self._version_ref(model, version)
        edges = []
        if ref is not None:
            dst = ObjectRef(ObjectKind.PREDICTION_SEGMENT, segment_id)
            edges.append(lineage.edge(ref, dst, lineage.Relation.LOGGED))
        return self.workspace.store.add_prediction_segment(segment, ids, edges=edges)

    def seal_file(self, path: Path) -> PredictionSegment | None:
        """Seal a closed spool file and delete it (already indexed: just delete it)."""
        table = read_spool(path)
        sealed = None
        if table is not None and table.num_rows:
            segment_id = path.name.partition(".")[0]
            try:
                sealed = self.seal(segment_id, group_of(table.schema.metadata), table)
            except Conflict:
                log.info("prediction segment %s was indexed before a crash", segment_id)
        path.unlink(missing_ok=True)
        return sealed

    def recover(self, paths: list[Path]) -> list[PredictionSegment]:
        """Seal the spool files among ``paths`` that no live process holds."""
        sealed = []
        for path in paths:
            with claim_orphan(path) as free:
                if not free:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    segment = self.seal_file(path)
                    if segment is not None:
                        sealed.append(segment)
        return sealed
