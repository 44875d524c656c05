"""Models in runs: saved with :func:`loopml.models.save_model`, resolved from ``runs:/`` URIs.

``ActiveRun.log_model`` saves the model into a temporary directory (flavour detected,
skops for scikit-learn, a manifest with the sha256 of every file) and records every file
of that directory as a run artifact under ``<name>/``. The manifest ``<name>/loopml-model.json``
is what ``runs:/RUN_ID/NAME`` resolves to: :func:`resolve_run_model` materialises the
directory from the artifact store (files are content-addressed, so the manifest's digests
are the run artifacts' digests) and returns the manifest digest that loading verifies.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import NotFound
from loopml.ids import ObjectRef, check_artifact_path

if TYPE_CHECKING:
    from loopml.ids import ModelUri
    from loopml.models import ResolvedModel, SavedModel, Signature
    from loopml.workspace import Workspace

MODEL_MANIFEST = "loopml-model.json"  # == loopml.models.MANIFEST, without importing numpy


def model_path(name: str) -> str:
    """Check a model's folder name inside a run (``fraud``, ``models/fraud``).

    Raises:
        InvalidInput: The name is not a safe relative path (absolute, ``..``, NUL...).
    """
    return check_artifact_path(name, what="model name")


def as_signature(signature: Signature | Mapping[str, Any] | None) -> Signature | None:
    """A :class:`~loopml.models.Signature` from a Signature, its dict form, or None."""
    if signature is None or not isinstance(signature, Mapping):
        return signature
    from loopml.models import Signature

    return Signature.from_dict(signature)


def save_into(
    model: Any,
    workdir: Path,
    *,
    signature: Signature | Mapping[str, Any] | None,
    input_example: Any,
    flavor: str | None,
    options: Mapping[str, Any] | None,
) -> SavedModel:
    """Save ``model`` into ``workdir/model`` with :func:`loopml.models.save_model`."""
    from loopml.models import save_model

    return save_model(
        model,
        workdir / "model",
        signature=as_signature(signature),
        input_example=input_example,
        flavor=flavor,
        options=options,
    )


def resolve_run_model(uri: ModelUri, workspace: Workspace) -> ResolvedModel:
    """Resolve ``runs:/RUN_ID/NAME`` to a verified local model directory.

    The run's ``NAME/loopml-model.json`` artifact names the manifest; the directory is
    materialised from the artifact store into the cache (keyed by manifest digest).

    Raises:
        NotFound: The run does not exist or recorded no model under ``NAME``.
    """
    from loopml.models import ResolvedModel, pull_model

    store = workspace.store
    run = store.get_run(uri.name)
    name = model_path(uri.path or "")
    manifest = None
    for artifact in store.list_run_artifacts(run.id):
        if artifact.path == f"{name}/{MODEL_MANIFEST}":
            manifest = artifact
            break
    if manifest is None:
        raise NotFound(
            "model",
            str(uri),
            hint=f"Run {run.id} has no model {name!r}; log one with run.log_model(model, "
            f"{name!r}) or list its files with `loopml runs show {run.id}`.",
        )
    path = pull_model(
        manifest.digest, workspace.artifacts, workspace.cache_dir / "models" / manifest.digest
    )
    return ResolvedModel(
        path=path, manifest_digest=manifest.digest, ref=ObjectRef("run", run.id), version=None
    )


def scratch_cache() -> Path:
    """Where a client without settings materialises models (shared, digest-keyed)."""
    return Path(tempfile.gettempdir()) / "loopml-models-cache"
