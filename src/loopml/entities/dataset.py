"""Datasets: named, versioned collections of files; versions are commits with a manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


class PiiPolicy(StrEnum):
    """What a commit does when it finds personal data: warn, refuse, or redact it."""

    WARN = "warn"
    BLOCK = "block"
    REDACT = "redact"


class RefKind(StrEnum):
    """A branch moves with each commit; a tag names one version for ever."""

    BRANCH = "branch"
    TAG = "tag"


@dataclass(frozen=True)
class Dataset:
    """A named dataset; its versions form a commit graph.

    ``project`` is the governance project the dataset (and every version, ref and schema
    of it) is in, fixed when it is created.
    """

    id: str
    name: str
    created_at_ms: int
    pii_policy: PiiPolicy = PiiPolicy.WARN
    description: str = ""
    project: str = "default"


@dataclass(frozen=True)
class DatasetVersion:
    """One commit of a dataset.

    ``manifest_digest`` names the artifact holding the manifest (relative path -> digest,
    size, profile); ``seq`` numbers the versions of one dataset 1, 2, 3 (``NAME@v3``).
    ``meta`` holds JSON-ready extras (PII findings, redactions).
    """

    id: str
    dataset_id: str
    seq: int
    parents: tuple[str, ...]
    message: str
    author: str
    created_at_ms: int
    manifest_digest: str
    file_count: int
    total_bytes: int
    meta: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetRef:
    """A branch or tag of a dataset pointing at a version."""

    dataset_id: str
    name: str
    kind: RefKind
    version_id: str
    updated_at_ms: int


@dataclass(frozen=True)
class DatasetSchema:
    """A saved, versioned schema of a dataset (``seq`` 1, 2, 3 per dataset)."""

    dataset_id: str
    seq: int
    digest: str
    created_at_ms: int
    version_id: str | None = None
