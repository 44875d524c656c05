"""Registered models, their versions, alias moves and the change log of a model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class RegisteredModel:
    """A named model in the registry; its versions are numbered 1, 2, ..."""

    id: str
    name: str
    created_at_ms: int
    updated_at_ms: int
    created_by: str
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelVersion:
    """One registered version: the manifest digest of its files and where it came from.

    ``number`` counts versions of the model (1, 2, ...); ``semver`` is the semantic
    version (major: signature or class changed, minor: retrained, patch: metadata only).
    """

    id: str
    model_name: str
    number: int
    semver: str
    manifest_digest: str
    payload_digest: str
    flavor: str
    model_class: str
    created_at_ms: int
    created_by: str
    signature_digest: str | None = None
    run_id: str | None = None
    source: str = ""
    description: str = ""
    gates_digest: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias: from one version number to another (None: unset)."""

    seq: int
    model_name: str
    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    reason: str
    at_ms: int


@dataclass(frozen=True)
class ModelEvent:
    """One recorded change to a model: who did what, when and why."""

    id: str
    model_name: str
    action: str
    actor: str
    at_ms: int
    version: int | None = None
    reason: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
