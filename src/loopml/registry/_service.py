"""Registered models, versions and aliases: validate -> store -> lineage."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml import lineage
from loopml.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loopml.ids import ModelUri, ObjectRef, SemVer
from loopml.lineage import ObjectKind, Relation
from loopml.models import (
    lookup_version,
    push_model,
    read_manifest,
    resolve,
    save_model,
)
from loopml.registry._policies import VersionFacts, next_semver
from loopml.workspace import current_workspace, resolve_actor, resolve_artifacts, resolve_store

if TYPE_CHECKING:
    from collections.abc import Mapping

    from loopml.artifacts import ArtifactStore
    from loopml.entities import Actor, AliasMove, ModelVersion, RegisteredModel
    from loopml.models import Signature
    from loopml.store import Store
    from loopml.workspace import Workspace

_MAX_SEMVER_RETRIES = 5


def create_model(
    name: str,
    *,
    description: str = "",
    tags: Mapping[str, str] | None = None,
    store: Store | None = None,
    actor: Actor | str | None = None,
) -> RegisteredModel:
    """Create a registered model.

    Raises:
        Conflict: A model of that name exists.
        InvalidInput: The name is not valid.
    """
    return resolve_store(store).create_model(
        name, actor=resolve_actor(actor).name, description=description, tags=tags
    )


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
            "tags": dict(existing.tags),
        }
        if held == record and wanted in (None, existing.semver):
            return existing
    return None


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
        manifest_digest = push_model(directory, blobs)
    gates_digest = None
    if gates is not None:
        from loopml.evaluation import load_gates

        load_gates(gates)  # refuse a broken gate file at registration time
        gates_digest = blobs.put_file(gates)
    run_id = run_id or uri_run
    try:
        db.get_model(name)
    except NotFound:
        try:
            db.create_model(name, actor=who.name)
        except Conflict:
            pass  # created meanwhile by someone else
    record: dict[str, object] = {
        "manifest_digest": manifest_digest,
        "run_id": run_id,
        "gates_digest": gates_digest,
        "description": description,
        "tags": dict(tags or {}),
    }
    same = _registered_already(db, name, record, version)
    if same is not None:  # idempotent: the same run's model, bytes, gates and metadata
        return same
    facts = VersionFacts(
        manifest.signature.digest if manifest.signature else None,
        manifest.model_class,
        manifest.payload_digest,
    )
    source = os.fspath(model) if isinstance(model, (str, os.PathLike)) else "object"
    for _attempt in range(_MAX_SEMVER_RETRIES):
        semver = version or str(next_semver(db.list_model_versions(name), facts))
        try:
            created = db.create_model_version(
                name,
                actor=who.name,
                semver=str(SemVer.parse(semver)),
                manifest_digest=manifest_digest,
                payload_digest=manifest.payload_digest,
                flavor=manifest.flavor,
                model_class=manifest.model_class,
                signature_digest=facts.signature_digest,
                run_id=run_id,
                source=source,
                description=description,
                gates_digest=gates_digest,
                tags=tags,
            )
            break
        except Conflict:
            if version is not None:
                raise
    else:  # pragma: no cover - needs more concurrent registrations than retries
        raise Conflict(f"could not assign a version to {name!r}: too many concurrent writers")
    ref = ObjectRef(ObjectKind.MODEL_VERSION, created.id)
    edges = [lineage.edge(ObjectRef(ObjectKind.ARTIFACT, manifest_digest), ref, Relation.STORED_AS)]
    # One edge per file: the blobs may be shared with run artifacts (a runs:/ model has the
    # same bytes), and `runs gc` frees only blobs no lineage edge names.
    edges += [
        lineage.edge(ObjectRef(ObjectKind.ARTIFACT, digest), ref, Relation.FILE_OF)
        for digest in sorted({entry.sha256 for entry in manifest.files.values()})
    ]
    if gates_digest is not None:
        edges.append(
            lineage.edge(ObjectRef(ObjectKind.ARTIFACT, gates_digest), ref, Relation.GATES)
        )
    if run_id is not None:
        edges.append(lineage.edge(ObjectRef(ObjectKind.RUN, run_id), ref, Relation.PRODUCED))
    lineage.record(edges, store=db)
    return created


def get_model(name: str, *, store: Store | None = None) -> RegisteredModel:
    """Return a registered model (NotFound if absent)."""
    return resolve_store(store).get_model(name)


def list_models(*, store: Store | None = None) -> list[RegisteredModel]:
    """Every registered model, by name."""
    return resolve_store(store).list_models(limit=10_000)


def list_versions(name: str, *, store: Store | None = None) -> list[ModelVersion]:
    """Every version of a model, newest first."""
    return resolve_store(store).list_model_versions(name)


def get_version(ref: str, *, store: Store | None = None) -> ModelVersion:
    """The version named by ``NAME@ALIAS``, ``NAME/VERSION`` or a ``models:/`` URI.

    VERSION is a number, a semantic version or ``latest``.
    """
    text = ref if ref.startswith("models:/") else f"models:/{ref}"
    try:
        uri = ModelUri.parse(text)
    except InvalidInput as exc:
        raise InvalidInput(
            f"cannot parse model version reference {ref!r}",
            hint="Write NAME@ALIAS, NAME/NUMBER, NAME/1.2.0 or models:/NAME@ALIAS.",
        ) from exc
    return lookup_version(uri, resolve_store(store))


def update_version(
    name: str,
    number: int,
    *,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    store: Store | None = None,
    actor: Actor | str | None = None,
) -> ModelVersion:
    """Change a version's description or tags (recorded with who and when)."""
    return resolve_store(store).update_model_version(
        name, number, actor=resolve_actor(actor).name, description=description, tags=tags
    )


def _guarded(db: Store, name: str, alias: str) -> bool:
    return any(p.alias == alias for p in db.get_promotion_policies(name))


def set_alias(
    name: str,
    alias: str,
    version: int,
    *,
    reason: str = "",
    store: Store | None = None,
    actor: Actor | str | None = None,
) -> AliasMove:
    """Point ``alias`` at ``version``, atomically, recording the move in its history.

    Raises:
        PermissionDenied: A promotion policy guards the alias (use request_promotion).
        NotFound: The model or version does not exist.
    """
    db = resolve_store(store)
    if _guarded(db, name, alias):
        raise PermissionDenied(
            f"alias {name}@{alias} is guarded by a promotion policy",
            hint=f"Use `loopml models request-promotion {name}/{version} {alias}`, then "
            "approve and promote.",
        )
    return db.set_alias(name, alias, version, actor=resolve_actor(actor).name, reason=reason)


def delete_alias(
    name: str,
    alias: str,
    *,
    reason: str = "",
    store: Store | None = None,
    actor: Actor | str | None = None,
) -> AliasMove:
    """Remove an alias (recorded in its history)."""
    db = resolve_store(store)
    if _guarded(db, name, alias):
        raise PermissionDenied(f"alias {name}@{alias} is guarded by a promotion policy")
    return db.set_alias(name, alias, None, actor=resolve_actor(actor).name, reason=reason)


def alias_history(
    name: str, alias: str | None = None, *, store: Store | None = None
) -> list[AliasMove]:
    """Every move of an alias (or of all aliases of the model), oldest first."""
    return resolve_store(store).alias_history(name, alias)
