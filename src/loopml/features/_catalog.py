"""Applied definitions as the retrieval code reads them, and feature references resolved.

The store keeps each definition as a JSON spec; :class:`Catalog` reads the newest version
of each and answers "which columns of which views does this list of features need".
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from loopml.entities import FeatureDefinition
    from loopml.store import Store

#: DuckDB type of each declared dtype.
SQL_TYPES = {
    "bool": "BOOLEAN",
    "float32": "FLOAT",
    "float64": "DOUBLE",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "string": "VARCHAR",
    "timestamp": "TIMESTAMP",
}


def digest_of(spec: Mapping[str, Any]) -> str:
    """sha256 of a spec without its ``location`` (moving a definition is not a change)."""
    body = {k: v for k, v in spec.items() if k != "location"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def callable_ref(fn: Callable[..., Any] | str | None, base: Path) -> tuple[str | None, str | None]:
    """``(reference, source digest)`` of a transform: ``module:attr`` or ``file.py:attr``."""
    if fn is None:
        return None, None
    if isinstance(fn, str):
        left, _, attr = fn.rpartition(":")
        if left.endswith(".py") and not Path(left).is_absolute():
            fn = f"{(base / left).resolve()}:{attr}"
        target = load_callable(fn)
    else:
        target = fn
        module = sys.modules.get(fn.__module__)
        file = getattr(module, "__file__", None)
        if fn.__module__.startswith("loopml_features_") and file:
            fn = f"{file}:{fn.__qualname__}"
        else:
            fn = f"{fn.__module__}:{fn.__qualname__}"
    try:
        source = inspect.getsource(target)
    except (OSError, TypeError):
        source = fn
    return fn, hashlib.sha256(source.encode()).hexdigest()


_FILE_MODULES: dict[str, Any] = {}


def load_callable(ref: str) -> Callable[..., Any]:
    """Import ``module:attr`` or ``/path/file.py:attr``."""
    left, _, attr = ref.rpartition(":")
    try:
        if left.endswith(".py"):
            module = _FILE_MODULES.get(left)
            if module is None:
                spec = importlib.util.spec_from_file_location(
                    f"loopml_transform_{len(_FILE_MODULES)}", left
                )
                if spec is None or spec.loader is None:
                    raise ImportError(left)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                _FILE_MODULES[left] = module
        else:
            module = importlib.import_module(left)
        target: Any = module
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError, OSError) as exc:
        raise InvalidInput(
            f"cannot load transform {ref!r}: {exc}",
            hint="Name a function as module:function or file.py:function.",
        ) from exc
    if not callable(target):
        raise InvalidInput(f"transform {ref!r} is not callable", hint="Name a function.")
    return target  # type: ignore[no-any-return]


@dataclass(frozen=True)
class FieldSpec:
    """One stored feature: name, type, SQL expression (None: the column of that name)."""

    name: str
    dtype: str
    expr: str | None


def _fields(spec: Mapping[str, Any]) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(f["name"], f["dtype"], f.get("expr")) for f in spec["features"])


@dataclass(frozen=True)
class ViewSpec:
    """A stored feature view version."""

    id: str
    name: str
    version: int
    digest: str
    keys: tuple[tuple[str, str], ...]
    event_timestamp: str
    created_timestamp: str | None
    ttl_s: float | None
    features: tuple[FieldSpec, ...]
    source: Mapping[str, Any]
    transform: str | None
    online: bool

    @classmethod
    def from_definition(cls, row: FeatureDefinition) -> ViewSpec:
        """Read a stored ``feature_view`` definition."""
        spec: Any = row.spec
        return cls(
            id=row.id,
            name=row.name,
            version=row.version,
            digest=row.digest,
            keys=tuple((k, v) for k, v in spec["keys"].items()),
            event_timestamp=spec["event_timestamp"],
            created_timestamp=spec.get("created_timestamp"),
            ttl_s=spec.get("ttl_s"),
            features=_fields(spec),
            source=spec["source"],
            transform=spec.get("transform"),
            online=bool(spec.get("online", True)),
        )

    @property
    def key_names(self) -> tuple[str, ...]:
        """The join key columns."""
        return tuple(k for k, _ in self.keys)

    def field(self, name: str) -> FieldSpec:
        """The feature called ``name``; NotFound naming the view's features."""
        for feat in self.features:
            if feat.name == name:
                return feat
        raise NotFound(
            "feature",
            f"{self.name}:{name}",
            hint="Features of the view: " + ", ".join(f.name for f in self.features),
        )


@dataclass(frozen=True)
class OnDemandSpec:
    """A stored on-demand feature view version."""

    id: str
    name: str
    sources: tuple[str, ...]
    request: tuple[tuple[str, str], ...]
    features: tuple[FieldSpec, ...]
    transform: str | None


@dataclass(frozen=True)
class Selection:
    """What a list of feature references needs: view -> features, then on-demand views."""

    views: tuple[tuple[ViewSpec, tuple[FieldSpec, ...]], ...]
    on_demand: tuple[tuple[OnDemandSpec, tuple[FieldSpec, ...]], ...]
    service: str | None = None
    service_id: str | None = None

    @property
    def output_names(self) -> list[str]:
        """The feature columns of the result, in order."""
        names = [f.name for _, fields in self.views for f in fields]
        return names + [f.name for _, fields in self.on_demand for f in fields]

    @property
    def request_fields(self) -> dict[str, str]:
        """Request fields the on-demand views read."""
        return {k: v for odfv, _ in self.on_demand for k, v in odfv.request}

    @property
    def key_columns(self) -> dict[str, str]:
        """Every join key column the views need, with its type."""
        return {k: v for view, _ in self.views for k, v in view.keys}


@dataclass
class Catalog:
    """The newest applied version of every definition in a store."""

    views: dict[str, ViewSpec]
    on_demand: dict[str, OnDemandSpec]
    services: dict[str, FeatureDefinition]
    online_store: str | None

    @classmethod
    def load(cls, store: Store) -> Catalog:
        """Read every newest definition (one query)."""
        views: dict[str, ViewSpec] = {}
        odfvs: dict[str, OnDemandSpec] = {}
        services: dict[str, FeatureDefinition] = {}
        online = None
        for row in store.list_feature_definitions():
            spec: Any = row.spec
            if row.kind == "feature_view":
                views[row.name] = ViewSpec.from_definition(row)
            elif row.kind == "on_demand_feature_view":
                odfvs[row.name] = OnDemandSpec(
                    id=row.id,
                    name=row.name,
                    sources=tuple(spec["sources"]),
                    request=tuple(spec.get("request", {}).items()),
                    features=_fields(spec),
                    transform=spec.get("transform"),
                )
            elif row.kind == "feature_service":
                services[row.name] = row
            elif row.kind == "project":
                online = spec.get("online_store")
        return cls(views, odfvs, services, online)

    def view(self, name: str) -> ViewSpec:
        """A view by name; NotFound listing the applied ones."""
        if name not in self.views:
            raise NotFound(
                "feature view",
                name,
                hint="Applied views: " + (", ".join(sorted(self.views)) or "none (run apply)"),
            )
        return self.views[name]

    def select(self, features: Sequence[str] | str) -> Selection:
        """Resolve ``view:feature`` / ``view`` references, or a feature service's name."""
        service = service_id = None
        if isinstance(features, str):
            if features not in self.services:
                raise NotFound(
                    "feature service",
                    features,
                    hint="Pass a list of view:feature references, or one of: "
                    + (", ".join(sorted(self.services)) or "no services applied"),
                )
            row = self.services[features]
            service, service_id = row.name, row.id
            spec: Any = row.spec
            features = list(spec["features"])
        views: dict[str, list[FieldSpec]] = {}
        odfvs: dict[str, list[FieldSpec]] = {}
        for ref in features:
            name, _, feat = ref.partition(":")
            if name in self.on_demand:
                odfv = self.on_demand[name]
                chosen = odfv.features if feat in ("", "*") else _pick(odfv.features, feat, ref)
                odfvs.setdefault(name, []).extend(chosen)
                for source in odfv.sources:
                    views.setdefault(source, []).extend(self.view(source).features)
                continue
            view = self.view(name)
            chosen = view.features if feat in ("", "*") else (view.field(feat),)
            views.setdefault(name, []).extend(chosen)
        out_views = tuple((self.views[n], _unique(fs)) for n, fs in views.items())
        out_odfvs = tuple((self.on_demand[n], _unique(fs)) for n, fs in odfvs.items())
        selection = Selection(out_views, out_odfvs, service, service_id)
        names = selection.output_names
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise InvalidInput(
                f"feature names {', '.join(clash)} come from more than one view",
                hint="Select only one of them (view:feature), or rename one in its view.",
            )
        return selection


def _pick(fields: tuple[FieldSpec, ...], name: str, ref: str) -> tuple[FieldSpec, ...]:
    for feat in fields:
        if feat.name == name:
            return (feat,)
    raise NotFound("feature", ref, hint="Features: " + ", ".join(f.name for f in fields))


def _unique(fields: list[FieldSpec]) -> tuple[FieldSpec, ...]:
    seen: dict[str, FieldSpec] = {}
    for feat in fields:
        seen.setdefault(feat.name, feat)
    return tuple(seen.values())
