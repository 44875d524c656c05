"""What the metadata store refers to in the artifact store (for garbage collection)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class ArtifactReferences:
    """Every artifact digest a record of the metadata store names.

    Attributes:
        objects: Digests named directly: run files (soft-deleted runs included), saved
            schemas, evaluation reports and gate files, prediction-log segments, step
            outputs, registered gate files, and either end of a lineage edge of kind ``artifact``.
        dataset_manifests: Manifest digest of a dataset version -> that version's id. The
            manifest names further objects (files and profiles), read by the caller.
        model_manifests: Manifest digest of a model version -> ``NAME/NUMBER``. The
            manifest names the model's files.
    """

    objects: frozenset[str] = frozenset()
    dataset_manifests: Mapping[str, str] = field(default_factory=dict)
    model_manifests: Mapping[str, str] = field(default_factory=dict)
