"""Feature definitions in Python: entities, fields, feature views, on-demand views, services.

Each definition remembers where it was written (``location``, ``file:line``), so a check
that fails later (an unknown column found when the source is read) points at the user's
line. Definitions are frozen and turn into JSON-ready specs (:func:`spec_of`), whose digest
versions them in the store.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidFeatureDefinition

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

#: Value types a field or entity key may declare (DuckDB names in parentheses on the page).
DTYPES = ("bool", "float32", "float64", "int32", "int64", "string", "timestamp")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_TTL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_TTL_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def _caller() -> str:
    """``file:line`` of the user code that built a definition (past the dataclass init)."""
    frame = sys._getframe(1)
    while frame is not None and (
        frame.f_code.co_filename == __file__ or frame.f_code.co_name == "__init__"
    ):
        frame = frame.f_back  # type: ignore[assignment]
    return "" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _fail(location: str, message: str, hint: str) -> InvalidFeatureDefinition:
    where = f"{location}: " if location else ""
    return InvalidFeatureDefinition(f"{where}{message}", hint=hint, location=location)


def check_name(value: object, what: str, location: str) -> str:
    """``value`` if it is a valid name (letters, digits, underscores); else the error."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise _fail(
            location,
            f"{what} {value!r} is not a valid name",
            "Use letters, digits and underscores, starting with a letter (at most 128).",
        )
    return value


def check_dtype(value: object, location: str) -> str:
    """``value`` if it is one of :data:`DTYPES`; else the error naming them."""
    if value not in DTYPES:
        raise _fail(location, f"unknown type {value!r}", f"Use one of {', '.join(DTYPES)}.")
    return str(value)


def parse_ttl(value: object, location: str = "") -> float | None:
    """A TTL in seconds from a timedelta, a number of seconds or text such as ``7d``."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := _TTL.match(value)):
        seconds = float(match.group(1)) * _TTL_UNITS[match.group(2)]
    else:
        raise _fail(
            location,
            f"ttl {value!r} is not a duration",
            "Write a number of seconds or a number with a unit: 500ms, 30s, 15m, 12h, 7d, 2w.",
        )
    if seconds <= 0:
        raise _fail(location, f"ttl {value!r} must be positive", "Leave ttl out for no limit.")
    return seconds


@dataclass(frozen=True)
class Field:
    """One feature of a view: a source column, or a DuckDB SQL expression over the columns.

    Args:
        name: Feature name (the output column).
        dtype: One of :data:`DTYPES`.
        expr: SQL expression over the source row (default: the column called ``name``).
        description: Free text.
    """

    name: str
    dtype: str = "float64"
    expr: str | None = None
    description: str = ""
    location: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.location:
            object.__setattr__(self, "location", _caller())
        check_name(self.name, "feature", self.location)
        check_dtype(self.dtype, self.location)


#: Feast's name for the same thing.
Feature = Field


def _tuple(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class Entity:
    """What features are about (a user, a card): its join key columns and their types.

    Args:
        name: Entity name.
        keys: Join key column -> type (``{"user_id": "int64"}``).
        description: Free text.
        owners: Who answers for it.
        tags: Free labels.
    """

    name: str
    keys: Mapping[str, str]
    description: str = ""
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    location: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.location:
            object.__setattr__(self, "location", _caller())
        check_name(self.name, "entity", self.location)
        if not self.keys:
            raise _fail(self.location, f"entity {self.name!r} has no keys", "Name a key column.")
        for key, dtype in self.keys.items():
            check_name(key, "key column", self.location)
            check_dtype(dtype, self.location)
        object.__setattr__(self, "keys", dict(self.keys))
        object.__setattr__(self, "owners", _tuple(self.owners))


@dataclass(frozen=True)
class FeatureView:
    """Features of one or more entities read from a dataset version or files, in time.

    Args:
        name: View name.
        entities: Entity names whose keys join the view's rows.
        source: ``DATASET@REF`` (a dataset version) or a Parquet/CSV file or glob.
        features: The fields.
        event_timestamp: Column of the time each value became true.
        created_timestamp: Column of the time each row was written (rows written after a
            training row's time are never joined to it).
        ttl: How long a value stays valid (timedelta, seconds, or ``7d``); None: forever.
        transform: A Python function (or ``"module:function"``) from a pandas DataFrame of
            source rows to one with more columns, applied batch by batch (row-local only).
        online: Materialise into the online store.
        description: Free text.
        owners: Who answers for it.
        tags: Free labels.
    """

    name: str
    entities: tuple[str, ...]
    source: str
    features: tuple[Field, ...]
    event_timestamp: str = "event_timestamp"
    created_timestamp: str | None = None
    ttl: timedelta | float | str | None = None
    transform: Callable[[Any], Any] | str | None = None
    online: bool = True
    description: str = ""
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    location: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.location:
            object.__setattr__(self, "location", _caller())
        check_name(self.name, "feature view", self.location)
        object.__setattr__(self, "entities", _tuple(self.entities))
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "owners", _tuple(self.owners))
        object.__setattr__(self, "ttl", parse_ttl(self.ttl, self.location))
        if not self.entities:
            raise _fail(self.location, f"feature view {self.name!r} names no entity", "Add one.")
        if not isinstance(self.source, str) or not self.source:
            raise _fail(
                self.location,
                f"feature view {self.name!r} has no source",
                "Name a dataset version (DATASET@REF) or a Parquet/CSV file.",
            )
        if not self.event_timestamp:
            raise _fail(
                self.location,
                f"feature view {self.name!r} has no event timestamp column",
                "Set event_timestamp to the column holding when each value became true.",
            )
        check_name(self.event_timestamp, "event_timestamp", self.location)
        if self.created_timestamp is not None:
            check_name(self.created_timestamp, "created_timestamp", self.location)
        _no_duplicates(self.features, f"feature view {self.name!r}")

    @property
    def ttl_s(self) -> float | None:
        """The TTL in seconds (None: no limit)."""
        return self.ttl if isinstance(self.ttl, float) else None


@dataclass(frozen=True)
class OnDemandFeatureView:
    """Features computed at request time from request fields and other views' features.

    Args:
        name: View name.
        sources: Feature views whose features the expressions read.
        request: Request field -> type, supplied with each entity row.
        features: Fields, each with an SQL ``expr`` over request fields and source features
            (or computed by ``transform``).
        transform: Python function from a pandas DataFrame to one with the feature columns.
        description: Free text.
        owners: Who answers for it.
        tags: Free labels.
    """

    name: str
    sources: tuple[str, ...]
    features: tuple[Field, ...]
    request: Mapping[str, str] = field(default_factory=dict)
    transform: Callable[[Any], Any] | str | None = None
    description: str = ""
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    location: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.location:
            object.__setattr__(self, "location", _caller())
        check_name(self.name, "on-demand feature view", self.location)
        object.__setattr__(self, "sources", _tuple(self.sources))
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "owners", _tuple(self.owners))
        object.__setattr__(self, "request", dict(self.request))
        for key, dtype in self.request.items():
            check_name(key, "request field", self.location)
            check_dtype(dtype, self.location)
        _no_duplicates(self.features, f"on-demand feature view {self.name!r}")
        if self.transform is None:
            for feat in self.features:
                if not feat.expr:
                    raise _fail(
                        feat.location or self.location,
                        f"on-demand feature {feat.name!r} has no expr",
                        "Give each feature an SQL expr, or give the view a transform function.",
                    )


@dataclass(frozen=True)
class FeatureService:
    """A named list of features a model uses: ``view:feature``, or ``view`` for all of it.

    Args:
        name: Service name.
        features: Feature references.
        description: Free text.
        owners: Who answers for it.
        tags: Free labels.
    """

    name: str
    features: tuple[str, ...]
    description: str = ""
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    location: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.location:
            object.__setattr__(self, "location", _caller())
        check_name(self.name, "feature service", self.location)
        object.__setattr__(self, "features", _tuple(self.features))
        object.__setattr__(self, "owners", _tuple(self.owners))
        if not self.features:
            raise _fail(
                self.location, f"feature service {self.name!r} lists no features", "Add some."
            )


def _no_duplicates(features: tuple[Field, ...], where: str) -> None:
    seen: set[str] = set()
    for feat in features:
        if feat.name in seen:
            raise _fail(
                feat.location,
                f"duplicate feature name {feat.name!r} in {where}",
                "Give every feature of a view its own name.",
            )
        seen.add(feat.name)


Definition = Entity | FeatureView | OnDemandFeatureView | FeatureService


@dataclass(frozen=True)
class Definitions:
    """Everything one features.yaml (or Python file) defines, plus the online store URL."""

    entities: tuple[Entity, ...] = ()
    views: tuple[FeatureView, ...] = ()
    on_demand: tuple[OnDemandFeatureView, ...] = ()
    services: tuple[FeatureService, ...] = ()
    online_store: str | None = None
    source_path: str = ""

    def all(self) -> list[Definition]:
        """Every definition, entities first (the order they are checked and applied)."""
        return [*self.entities, *self.views, *self.on_demand, *self.services]
