"""``register_model``: materialise and verify the model, store it, then record the version.

The steps, in order: the model becomes a verified directory whose files are pushed to the
artifact store (``_push``), the gate file is checked and stored, an identical earlier
registration is returned as is (idempotence), else the version is recorded with its
semantic version (retried on a concurrent writer) and its lineage edges.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml import lineage
from loopml.errors import Conflict, NotFound
from loopml.ids import ObjectRef, SemVer
from loopml.lineage import ObjectKind, Relation
from loopml.models import (
    SIGNATURE_KEY_TAG,
    SIGNATURE_TAG,
    pull_model,
    push_model,
    read_manifest,
    resolve,
    save_model,
    sign_version,
    signing_key_configured,
)
from loopml.registry._policies import VersionFacts, next_semver
from loopml.workspace import current_workspace, resolve_actor, resolve_artifacts, resolve_store

if TYPE_CHECKING:
    from collections.abc import Mapping

    from loopml.artifacts import ArtifactStore
    from loopml.entities import Actor, LineageEdge, ModelVersion
    from loopml.models import Manifest, Signature
    from loopml.store import Store
    from loopml.workspace import Workspace

_MAX_SEMVER_RETRIES = 5
# Set after the version is recorded, so they never make two registrations differ.
_SIGNING_TAGS = frozenset({SIGNATURE_TAG, SIGNATURE_KEY_TAG})


def _model_dir(
    model: Any,
    workdir: Path,
    *,
    signature: Signature | None,
    input_example: Any,
    flavor: str | None,
    workspace: Workspace,
) -> tuple[Path, str | None]:
    """A verified local directory for ``model`` and the run it came from, if a runs:/ URI."""
    if isinstance(model, (str, os.PathLike)):
        text = os.fspath(model)
        resolved = resolve(text, workspace)
        run_id = (
            resolved.ref.id if resolved.ref is not None and resolved.ref.kind == "run" else None
        )
        return resolved.path, run_id
    saved = save_model(
        model, workdir / "model", signature=signature, input_example=input_example, flavor=flavor
    )
    return saved.path, None


def _registered_already(
    db: Store,
    name: str,
    record: dict[str, object],
    semver: str | None,
) -> ModelVersion | None:
    """The version of ``name`` that already records exactly ``record`` (and ``semver``)."""
    wanted = None if semver is None else str(SemVer.parse(semver))
    for existing in db.list_model_versions(name):
        held = {
            "manifest_digest": existing.manifest_digest,
            "run_id": existing.run_id,
            "gates_digest": existing.gates_digest,
            "description": existing.description,
            "tags": {k: v for k, v in existing.tags.items() if k not in _SIGNING_TAGS},
        }
        if held == record and wanted in (None, existing.semver):
            return existing
    return None


@dataclass(frozen=True)
class _Candidate:
    """What a registration records: the pushed model, where it came from, and its metadata."""

    manifest: Manifest
    manifest_digest: str
    run_id: str | None
    gates_digest: str | None
    description: str
    tags: Mapping[str, str] | None
    source: str

    def record(self) -> dict[str, object]:
        """The fields that make two registrations the same (see :func:`_registered_already`)."""
        return {
            "manifest_digest": self.manifest_digest,
            "run_id": self.run_id,
            "gates_digest": self.gates_digest,
            "description": self.description,
            "tags": dict(self.tags or {}),
        }

    def facts(self) -> VersionFacts:
        """What the automatic semantic version compares with earlier versions."""
        manifest = self.manifest
        return VersionFacts(
            manifest.signature.digest if manifest.signature else None,
            manifest.model_class,
            manifest.payload_digest,
        )


def _push(
    model: Any,
    blobs: ArtifactStore,
    workspace: Workspace,
    *,
    signature: Signature | None,
    input_example: Any,
    flavor: str | None,
) -> tuple[Manifest, str, str | None]:
    """Materialise ``model`` as a directory, verify it and store its files.

    Returns the manifest, its digest and the run of a ``runs:/`` URI.
    """
    with tempfile.TemporaryDirectory(prefix="loopml-register-") as tmp:
        directory, uri_run = _model_dir(
            model,
            Path(tmp),
            signature=signature,
            input_example=input_example,
            flavor=flavor,
            workspace=workspace,
        )
        manifest, _ = read_manifest(directory)
        return manifest, push_model(directory, blobs), uri_run


def _push_gates(gates: str | os.PathLike[str] | None, blobs: ArtifactStore) -> str | None:
    """Store the gate file, refused now if it is broken; its digest, or None."""
    if gates is None:
        return None
    from loopml.evaluation import load_gates

    load_gates(gates)
    return blobs.put_file(gates)


def _ensure_model(db: Store, name: str, actor: str) -> None:
    try:
        db.get_model(name)
    except NotFound:
        try:
            db.create_model(name, actor=actor)
        except Conflict:
            pass  # created meanwhile by someone else


def _create_version(
    db: Store, name: str, candidate: _Candidate, version: str | None, *, actor: str
) -> ModelVersion:
    """Record the version, retrying the automatic semantic version a few times on a race."""
    facts = candidate.facts()
    manifest = candidate.manifest
    for _attempt in range(_MAX_SEMVER_RETRIES):
        semver = version or str(next_semver(db.list_model_versions(name), facts))
        try:
            return db.create_model_version(
                name,
                actor=actor,
                semver=str(SemVer.parse(semver)),
                manifest_digest=candidate.manifest_digest,
                payload_digest=manifest.payload_digest,
                flavor=manifest.flavor,
                model_class=manifest.model_class,
                signature_digest=facts.signature_digest,
                run_id=candidate.run_id,
                source=candidate.source,
                description=candidate.description,
                gates_digest=candidate.gates_digest,
                tags=candidate.tags,
            )
        except Conflict:
            if version is not None:
                raise
    raise Conflict(  # pragma: no cover - needs more concurrent registrations than retries
        f"could not assign a version to {name!r}: too many concurrent writers"
    )


def _edges(created: ModelVersion, candidate: _Candidate) -> list[LineageEdge]:
    """The version's lineage: its manifest, every file, its gates and its run."""
    ref = ObjectRef(ObjectKind.MODEL_VERSION, created.id)
    artifact = ObjectKind.ARTIFACT
    edges = [lineage.edge(ObjectRef(artifact, candidate.manifest_digest), ref, Relation.STORED_AS)]
    # One edge per file: the blobs may be shared with run artifacts (a runs:/ model has the
    # same bytes), and `runs gc` frees only blobs no lineage edge names.
    edges += [
        lineage.edge(ObjectRef(artifact, digest), ref, Relation.FILE_OF)
        for digest in sorted({entry.sha256 for entry in candidate.manifest.files.values()})
    ]
    if candidate.gates_digest is not None:
        edges.append(lineage.edge(ObjectRef(artifact, candidate.gates_digest), ref, Relation.GATES))
    if candidate.run_id is not None:
        edges.append(
            lineage.edge(ObjectRef(ObjectKind.RUN, candidate.run_id), ref, Relation.PRODUCED)
        )
    return edges


def register_model(
    name: str,
    model: Any,
    *,
    run_id: str | None = None,
    version: str | None = None,
    description: str = "",
    tags: Mapping[str, str] | None = None,
    gates: str | os.PathLike[str] | None = None,
    signature: Signature | None = None,
    input_example: Any = None,
    flavor: str | None = None,
    store: Store | None = None,
    artifacts: ArtifactStore | None = None,
    actor: Actor | str | None = None,
    signing_key: str | os.PathLike[str] | None = None,
) -> ModelVersion:
    """Register a new version of ``name`` (the model is created when missing).

    The model's files go into the content-addressed artifact store; the version records
    the manifest digest, so loading it later verifies every byte. The semantic version is
    assigned automatically (major when the signature or model class changes, minor when
    the model bytes change, patch otherwise) unless ``version`` overrides it.

    Registering is idempotent: when a version of ``name`` already records the same
    manifest digest from the same run (or both from no run), with the same gate file,
    description and tags (and, if ``version`` is given, that semantic version), that
    version is returned and nothing is added. So re-running a pipeline whose training step
    came from the cache adds no version. Other metadata is a new (patch) version.

    Args:
        name: Registered model name.
        model: A model directory written by ``save_model``, a model URI
            (``runs:/RUN_ID/NAME`` as logged by ``run.log_model``, or ``models:/...``), or
            a model object (saved first, with ``signature``/``input_example``/``flavor``).
        run_id: The run that trained it: recorded on the version with a lineage edge
            run -> model_version (taken from a ``runs:/`` URI when omitted).
        version: Semantic version override (``"2.0.0"``).
        description: Version description.
        tags: Version tags.
        gates: A ``gates.yaml`` to version with the model (used by evaluations and
            promotion when no other gates are given).
        signature: For model objects: the signature (else inferred from the example).
        input_example: For model objects: example rows.
        flavor: For model objects: the flavour.
        store: Metadata store (default: the current one).
        artifacts: Artifact store (default: from settings).
        actor: Who registers (default: the configured user).
        signing_key: PEM private key to sign the version with, following OpenSSF Model
            Signing (default: ``LOOPML_SIGNING_KEY`` when set; unsigned otherwise). Every
            later load verifies the signature (see docs/models.md).

    Returns:
        The new version, or the existing one that registered the same model.

    Raises:
        Conflict: ``version`` is already used.
        DigestMismatch: The model directory was altered after it was saved.
        NotFound: ``run_id`` names no run.
    """
    db = resolve_store(store)
    blobs = resolve_artifacts(artifacts)
    who = resolve_actor(actor)
    workspace = current_workspace().derive(store=db, artifacts=blobs)
    manifest, manifest_digest, uri_run = _push(
        model,
        blobs,
        workspace,
        signature=signature,
        input_example=input_example,
        flavor=flavor,
    )
    candidate = _Candidate(
        manifest,
        manifest_digest,
        run_id=run_id or uri_run,
        gates_digest=_push_gates(gates, blobs),
        description=description,
        tags=tags,
        source=os.fspath(model) if isinstance(model, (str, os.PathLike)) else "object",
    )
    _ensure_model(db, name, who.name)
    same = _registered_already(db, name, candidate.record(), version)
    if same is not None:  # idempotent: the same run's model, bytes, gates and metadata
        if SIGNATURE_TAG in same.tags or (signing_key is None and not signing_key_configured()):
            return same
        created = same  # registered unsigned before: sign it now
    else:
        created = _create_version(db, name, candidate, version, actor=who.name)
        lineage.record(_edges(created, candidate), store=db)
    if signing_key is not None or signing_key_configured():
        folder = pull_model(
            created.manifest_digest,
            blobs,
            workspace.cache_dir / "models" / created.manifest_digest,
        )
        created = sign_version(created, folder, workspace, private_key=signing_key, actor=who.name)
    return created
