"""Feature store definitions as stored: one versioned row per applied definition."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class FeatureDefinition:
    """One applied version of an entity, feature view, on-demand view or feature service.

    ``kind`` is ``entity``, ``feature_view``, ``on_demand_feature_view``,
    ``feature_service`` or ``project`` (settings such as the online store); ``spec`` is
    the definition as JSON-ready data and ``digest`` its sha256, so
    re-applying an unchanged definition adds no version.
    """

    id: str
    kind: str
    name: str
    version: int
    digest: str
    created_at_ms: int
    created_by: str
    spec: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class FeatureWatermark:
    """How far a feature view has been materialised into one online store.

    ``watermark_ms`` is the largest change time (created time, else event time) written;
    ``end_ms`` the end of the last materialisation window; ``materialized_at_ms`` when it ran.
    """

    view: str
    target: str
    watermark_ms: int | None
    end_ms: int
    materialized_at_ms: int
    rows: int
