"""What a model card gathers beyond the version itself: training data versions with their
stored profiles, and the evaluation of the run's model when the version has none."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput, NotFound
from loopml.ids import ObjectRef
from loopml.lineage import ObjectKind, Relation

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loopml.artifacts import ArtifactStore
    from loopml.entities import LineageNode, ModelVersion
    from loopml.store import Store

#: Relations of blobs that are the version's own files, not its training data.
_OWN_FILES = frozenset({Relation.STORED_AS, Relation.FILE_OF, Relation.GATES})


def _table_summary(path: str, profile: dict[str, Any]) -> dict[str, Any]:
    rows = int(profile.get("rows") or 0)
    columns = profile.get("columns") or {}
    null_rates = {
        str(name): round(int(col.get("nulls") or 0) / rows, 6) if rows else 0.0
        for name, col in columns.items()
    }
    return {"path": path, "rows": rows, "columns": len(columns), "null_rates": null_rates}


def dataset_summary(db: Store, blobs: ArtifactStore, version_id: str) -> dict[str, Any]:
    """A dataset version as the card shows it: name, number, size and per-table profile
    summary (rows, columns, null rate per column) from the profiles stored at commit."""
    from loopml.data import Manifest as DataManifest

    ref = f"dataset_version:{version_id}"
    try:
        version = db.get_version(version_id)
    except NotFound:
        return {"ref": ref, "dataset": None, "note": "dataset version not found"}
    name = next((d.name for d in db.list_datasets() if d.id == version.dataset_id), None)
    out: dict[str, Any] = {
        "ref": ref,
        "dataset": name,
        "version": f"{name}@v{version.seq}",
        "id": version.id,
        "message": version.message,
        "files": version.file_count,
        "bytes": version.total_bytes,
        "tables": [],
    }
    try:
        manifest = DataManifest.from_bytes(blobs.get(version.manifest_digest))
        for path, entry in sorted(manifest.files.items()):
            if entry.profile is not None:
                profile = json.loads(blobs.get(entry.profile))
                out["tables"].append(_table_summary(path, profile))
    except (NotFound, InvalidInput, ValueError) as exc:
        out["note"] = f"profile unavailable: {exc}"
    return out


def training_data(
    db: Store,
    blobs: ArtifactStore,
    version: ModelVersion,
    upstream: Sequence[LineageNode],
) -> tuple[list[str], list[dict[str, Any]]]:
    """The training data refs and dataset summaries reachable upstream of a version.

    Dataset versions (e.g. version -> run -> dataset_version) are the training data when
    there are any; otherwise the upstream artifacts that are not the version's own files.
    """
    own = {
        n.edge.src
        for n in upstream
        if n.edge.relation in _OWN_FILES
        and n.edge.dst == ObjectRef(ObjectKind.MODEL_VERSION, version.id)
    }
    own.add(ObjectRef(ObjectKind.ARTIFACT, version.manifest_digest))
    datasets = sorted(
        {n.edge.src.id for n in upstream if n.edge.src.kind == ObjectKind.DATASET_VERSION}
    )
    if datasets:
        summaries = [dataset_summary(db, blobs, d) for d in datasets]
        return [f"dataset_version:{d}" for d in datasets], summaries
    artifacts = {n.edge.src for n in upstream if n.edge.src.kind == ObjectKind.ARTIFACT} - own
    return sorted(str(a) for a in artifacts), []


def run_evaluation(db: Store, blobs: ArtifactStore, version: ModelVersion) -> dict[str, Any] | None:
    """The newest evaluation of the version's source model in its run (``runs:/`` URI),
    for versions registered from a run whose model was evaluated before registration."""
    if version.run_id is None or not version.source.startswith("runs:/"):
        return None
    found = []
    for node in db.downstream(ObjectRef(ObjectKind.RUN, version.run_id), depth=1):
        if node.edge.dst.kind == ObjectKind.EVALUATION:
            evaluation = db.get_evaluation(node.edge.dst.id)
            if evaluation.model_uri == version.source and evaluation.report_digest:
                found.append(evaluation)
    if not found:
        return None
    newest = max(found, key=lambda e: e.created_at_ms)
    report: dict[str, Any] = json.loads(blobs.get(str(newest.report_digest)))
    report["id"] = newest.id
    report["source"] = newest.model_uri
    return report
