"""Resolving model URIs to verified local directories.

``models:/NAME@ALIAS`` and ``models:/NAME/VERSION`` are looked up in the workspace's
metadata store and materialised from its artifact store into its cache folder, keyed by the
manifest digest. Each scheme's resolver is a plugin (``plugins.BUILTIN["uri_resolvers"]``):
``runs:/RUN_ID/PATH`` is resolved by experiment tracking, a layer above this one, so it is
named there and loaded on first use; :func:`register_uri_resolver` adds more.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loopml import plugins
from loopml.errors import InvalidInput, InvalidReference, NotFound
from loopml.ids import ModelUri, ObjectRef
from loopml.models._api import LoadedModel, check_model_dir, load_directory
from loopml.models._manifest import pull_model
from loopml.models._signing import verify_version
from loopml.workspace import Workspace, current_workspace

if TYPE_CHECKING:
    from loopml.artifacts import ArtifactStore
    from loopml.entities import ModelVersion
    from loopml.store import Store


@dataclass(frozen=True)
class ResolvedModel:
    """A URI resolved to a local directory, with the digest it must have.

    Attributes:
        path: The local model directory.
        manifest_digest: The manifest sha256 recorded for it (None for plain paths).
        ref: The object it is (``model_version:ID``, ``run:ID``), if recorded.
        version: The registered version, for ``models:/`` URIs.
    """

    path: Path
    manifest_digest: str | None = None
    ref: ObjectRef | None = None
    version: ModelVersion | None = None


Resolver = Callable[[ModelUri, Workspace], "ResolvedModel"]


def register_uri_resolver(scheme: str, resolver: str | Resolver) -> None:
    """Teach :func:`load_model` a URI scheme (e.g. ``s3models``).

    Args:
        scheme: The URI scheme, without ``:/``.
        resolver: ``(ModelUri, Workspace) -> ResolvedModel`` or its ``"module:attr"``.
    """
    plugins.register("uri_resolvers", scheme, resolver)


def lookup_version(uri: ModelUri, store: Store) -> ModelVersion:
    """The registered version a ``models:/`` URI names (alias, number or semver)."""
    if uri.alias is not None:
        return store.get_alias(uri.name, uri.alias)
    text = str(uri.version)
    if text.isdigit():
        return store.get_model_version(uri.name, int(text))
    if text == "latest":
        versions = store.list_model_versions(uri.name)
        if not versions:
            raise NotFound("model version", f"{uri.name}/latest")
        return versions[0]
    for version in store.list_model_versions(uri.name):
        if version.semver == text.removeprefix("v"):
            return version
    raise NotFound(
        "model version",
        f"{uri.name}/{text}",
        hint="Name a version by number (3), semantic version (1.2.0), 'latest' or @alias.",
    )


def resolve_registered(uri: ModelUri, workspace: Workspace) -> ResolvedModel:
    """Resolve ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` through the registry.

    A signed version's folder is verified against its signature here, so every load,
    serve and deploy of it checks the signature (see :mod:`loopml.models._signing`).

    Raises:
        SignatureInvalid: The version's signature does not verify.
    """
    version = lookup_version(uri, workspace.store)
    path = pull_model(
        version.manifest_digest,
        workspace.artifacts,
        workspace.cache_dir / "models" / version.manifest_digest,
    )
    verify_version(version, path, workspace)  # signed versions: their OMS bundle first
    return ResolvedModel(
        path=path,
        manifest_digest=version.manifest_digest,
        ref=ObjectRef("model_version", version.id),
        version=version,
    )


def resolve(
    uri_or_path: str | os.PathLike[str], workspace: Workspace | None = None
) -> ResolvedModel:
    """Resolve a model URI or local path to a local directory (nothing is loaded).

    Args:
        uri_or_path: A model directory or a URI (``models:/...``, ``runs:/...``).
        workspace: Where to look it up and cache it (default: the current workspace).

    Raises:
        InvalidReference: The URI's scheme has no resolver.
        NotFound: The model, version, alias or artifact does not exist.
    """
    text = os.fspath(uri_or_path)
    if ":/" in text and not Path(text).exists() and text.split(":/", 1)[0].isalpha():
        scheme = text.split(":/", 1)[0]
        try:
            resolver: Resolver = plugins.load("uri_resolvers", scheme)
        except InvalidInput as exc:
            known = ", ".join(f"{name}:/" for name in plugins.names("uri_resolvers"))
            raise InvalidReference(
                f"no resolver for model URI scheme {scheme!r} in {text!r}",
                hint=f"Use a local path or one of: {known}.",
            ) from exc
        return resolver(ModelUri.parse(text), workspace or current_workspace())
    return ResolvedModel(path=check_model_dir(text))


def load_model(
    uri_or_path: str | os.PathLike[str],
    *,
    store: Store | None = None,
    artifacts: ArtifactStore | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    expected_digest: str | None = None,
    workspace: Workspace | None = None,
) -> LoadedModel:
    """Load a model after verifying the sha256 of every file.

    Args:
        uri_or_path: A model directory, ``models:/NAME@ALIAS``, ``models:/NAME/VERSION``
            (number, semantic version or ``latest``), or another registered scheme.
        store: Metadata store for ``models:/`` URIs (default: the workspace's).
        artifacts: Artifact store holding registered models (default: the workspace's).
        cache_dir: Cache folder to materialise registered models in, under
            ``models/<digest>`` (default: the workspace's ``cache`` folder).
        expected_digest: Refuse the model unless its manifest has this sha256 (registered
            models always check the digest the registry recorded).
        workspace: The workspace (default: the current one); the arguments above
            replace its parts.

    Returns:
        A :class:`LoadedModel`.

    Raises:
        DigestMismatch: A file or the manifest was altered.
        UnsignedModel: The directory has no manifest.
        NotFound: The URI names nothing.
        InvalidInput: The path is not a model directory.
    """
    base = workspace or current_workspace()
    if store is not None or artifacts is not None or cache_dir is not None:
        base = base.derive(
            store=store,
            artifacts=artifacts,
            cache_dir=None if cache_dir is None else Path(cache_dir),
        )
    resolved = resolve(uri_or_path, base)
    return load_directory(
        resolved.path, os.fspath(uri_or_path), expected_digest or resolved.manifest_digest
    )
