"""Resolving model URIs to verified local directories.

``models:/NAME@ALIAS`` and ``models:/NAME/VERSION`` are looked up in the metadata store and
materialised from the artifact store into a cache folder keyed by the manifest digest.
``runs:/RUN_ID/PATH`` is resolved by experiment tracking (``loopml.tracking``, named here
as a ``"module:attr"`` string so this layer never imports it); other schemes plug in
through :func:`register_uri_resolver`, also loaded on first use.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loopml.errors import InvalidReference, NotFound
from loopml.ids import ModelUri, ObjectRef
from loopml.models._api import LoadedModel, check_model_dir, load_directory
from loopml.models._manifest import pull_model

if TYPE_CHECKING:
    from loopml.artifacts import ArtifactStore
    from loopml.entities import ModelVersion
    from loopml.store import Store


@dataclass
class ResolveContext:
    """Where resolvers look things up; unset parts come from the working directory's settings."""

    store: Store | None = None
    artifacts: ArtifactStore | None = None
    cache_dir: Path | None = None

    def get_store(self) -> Store:
        """The metadata store (``current_store()`` when not given)."""
        if self.store is None:
            from loopml.store import current_store

            self.store = current_store()
        return self.store

    def get_artifacts(self) -> ArtifactStore:
        """The artifact store (from the settings when not given)."""
        if self.artifacts is None:
            from loopml.artifacts import open_artifact_store
            from loopml.config import load_settings

            self.artifacts = open_artifact_store(load_settings())
        return self.artifacts

    def get_cache_dir(self) -> Path:
        """Where materialised models are kept (``<home>/cache/models`` by default)."""
        if self.cache_dir is None:
            from loopml.config import load_settings

            self.cache_dir = load_settings().home / "cache" / "models"
        return self.cache_dir


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


Resolver = Callable[[ModelUri, ResolveContext], ResolvedModel]
_RESOLVERS: dict[str, str | Resolver] = {
    "models": "loopml.models._uri:resolve_registered",
    "runs": "loopml.tracking:resolve_run_model",  # experiment tracking; imported on first use
}


def register_uri_resolver(scheme: str, resolver: str | Resolver) -> None:
    """Teach :func:`load_model` a URI scheme (e.g. ``runs``).

    Args:
        scheme: The URI scheme, without ``:/``.
        resolver: ``(ModelUri, ResolveContext) -> ResolvedModel`` or its ``"module:attr"``.
    """
    _RESOLVERS[scheme] = resolver


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


def resolve_registered(uri: ModelUri, context: ResolveContext) -> ResolvedModel:
    """Resolve ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` through the registry."""
    version = lookup_version(uri, context.get_store())
    path = pull_model(
        version.manifest_digest,
        context.get_artifacts(),
        context.get_cache_dir() / version.manifest_digest,
    )
    return ResolvedModel(
        path=path,
        manifest_digest=version.manifest_digest,
        ref=ObjectRef("model_version", version.id),
        version=version,
    )


def resolve(
    uri_or_path: str | os.PathLike[str], context: ResolveContext | None = None
) -> ResolvedModel:
    """Resolve a model URI or local path to a local directory (nothing is loaded).

    Raises:
        InvalidReference: The URI's scheme has no resolver.
        NotFound: The model, version, alias or artifact does not exist.
    """
    context = context or ResolveContext()
    text = os.fspath(uri_or_path)
    if ":/" in text and not Path(text).exists() and text.split(":/", 1)[0].isalpha():
        scheme = text.split(":/", 1)[0]
        target = _RESOLVERS.get(scheme)
        if target is None:
            known = ", ".join(f"{name}:/" for name in sorted(_RESOLVERS))
            raise InvalidReference(
                f"no resolver for model URI scheme {scheme!r} in {text!r}",
                hint=f"Use a local path or one of: {known}.",
            )
        if isinstance(target, str):
            module_name, _, attr = target.partition(":")
            target = getattr(importlib.import_module(module_name), attr)
            _RESOLVERS[scheme] = target
        return target(ModelUri.parse(text), context)
    return ResolvedModel(path=check_model_dir(text))


def load_model(
    uri_or_path: str | os.PathLike[str],
    *,
    store: Store | None = None,
    artifacts: ArtifactStore | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    expected_digest: str | None = None,
) -> LoadedModel:
    """Load a model after verifying the sha256 of every file.

    Args:
        uri_or_path: A model directory, ``models:/NAME@ALIAS``, ``models:/NAME/VERSION``
            (number, semantic version or ``latest``), or another registered scheme.
        store: Metadata store for ``models:/`` URIs (default: the current store).
        artifacts: Artifact store holding registered models (default: from settings).
        cache_dir: Where registered models are materialised (default: home/cache/models).
        expected_digest: Refuse the model unless its manifest has this sha256 (registered
            models always check the digest the registry recorded).

    Returns:
        A :class:`LoadedModel`.

    Raises:
        DigestMismatch: A file or the manifest was altered.
        UnsignedModel: The directory has no manifest.
        NotFound: The URI names nothing.
        InvalidInput: The path is not a model directory.
    """
    context = ResolveContext(store, artifacts, None if cache_dir is None else Path(cache_dir))
    resolved = resolve(uri_or_path, context)
    return load_directory(
        resolved.path, os.fspath(uri_or_path), expected_digest or resolved.manifest_digest
    )
