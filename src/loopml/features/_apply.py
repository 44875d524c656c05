"""``plan`` and ``apply``: check definitions against their data, diff them with the store,
and record new versions with their lineage.

A check that needs data (a column the view names, the timestamp columns, an expression
DuckDB cannot compile) reads the source's schema only (``LIMIT 0``), and a failure points
at the definition's file:line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidFeatureDefinition, LoopmlError
from loopml.features._catalog import SQL_TYPES, callable_ref, digest_of
from loopml.features._defs import (
    Definitions,
    Entity,
    FeatureService,
    FeatureView,
    OnDemandFeatureView,
)
from loopml.features._sources import connect, q, resolve_source, rows_clause
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    from loopml.entities import FeatureDefinition
    from loopml.features._catalog import ViewSpec
    from loopml.workspace import Workspace

_KIND = {
    Entity: "entity",
    FeatureView: "feature_view",
    OnDemandFeatureView: "on_demand_feature_view",
    FeatureService: "feature_service",
}


def _fail(location: str, message: str, hint: str) -> InvalidFeatureDefinition:
    return InvalidFeatureDefinition(f"{location}: {message}", hint=hint, location=location)


@dataclass(frozen=True)
class Change:
    """One line of a plan: what happens to a definition on apply."""

    kind: str
    name: str
    action: str  #: ``create``, ``update``, ``unchanged`` or ``not in file`` (kept)
    version: int | None
    changes: tuple[str, ...] = ()
    spec: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "version": self.version,
            "changes": list(self.changes),
        }


def _common(d: Any) -> dict[str, Any]:
    return {
        "description": d.description,
        "owners": list(d.owners),
        "tags": dict(d.tags),
        "location": d.location,
    }


def _fields(d: FeatureView | OnDemandFeatureView) -> list[dict[str, Any]]:
    return [{"name": f.name, "dtype": f.dtype, "expr": f.expr} for f in d.features]


def _spec(d: Any, defs: Definitions, known: dict[str, Entity], ws: Workspace) -> dict[str, Any]:
    base = Path(defs.source_path).parent if defs.source_path else Path.cwd()
    if isinstance(d, Entity):
        return {"keys": dict(d.keys), **_common(d)}
    if isinstance(d, FeatureService):
        return {"features": list(d.features), **_common(d)}
    if isinstance(d, OnDemandFeatureView):
        ref, digest = callable_ref(d.transform, base)
        return {
            "sources": list(d.sources),
            "request": dict(d.request),
            "features": _fields(d),
            "transform": ref,
            "transform_digest": digest,
            **_common(d),
        }
    keys: dict[str, str] = {}
    for name in d.entities:
        if name not in known:
            raise _fail(
                d.location,
                f"feature view {d.name!r} names unknown entity {name!r}",
                "Define the entity in the same file or apply it first. Known: "
                + (", ".join(sorted(known)) or "none"),
            )
        keys.update(known[name].keys)
    try:
        source = resolve_source(d.source, base, ws)
    except LoopmlError as exc:
        raise _fail(d.location, f"source {d.source!r}: {exc.message}", exc.hint or "") from exc
    ref, digest = callable_ref(d.transform, base)
    return {
        "entities": list(d.entities),
        "keys": keys,
        "source": source,
        "event_timestamp": d.event_timestamp,
        "created_timestamp": d.created_timestamp,
        "ttl_s": d.ttl_s,
        "features": _fields(d),
        "transform": ref,
        "transform_digest": digest,
        "online": d.online,
        **_common(d),
    }


def _check_view(view: FeatureView, spec: ViewSpec, ws: Workspace) -> None:
    """Refuse a view whose columns, timestamps or expressions its source cannot give."""
    import duckdb

    con = connect(ws)
    try:
        try:
            source = rows_clause(spec, con, ws)
            described = con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
        except (duckdb.Error, LoopmlError) as exc:
            raise _fail(
                view.location,
                f"feature view {view.name!r}: cannot read source {view.source!r}: {exc}",
                "Check the path or dataset reference, and that the files are Parquet/CSV.",
            ) from exc
        columns = {row[0]: str(row[1]) for row in described}
        shown = ", ".join(list(columns)[:30])
        for what, column in (
            *((f"join key of entity {e!r}", k) for e in view.entities for k in spec.key_names),
            ("event_timestamp", view.event_timestamp),
            ("created_timestamp", view.created_timestamp),
        ):
            if column is None:
                continue
            if column not in columns:
                raise _fail(
                    view.location,
                    f"feature view {view.name!r}: {what} column {column!r} is not in the source",
                    f"Columns of the source: {shown}.",
                )
            if "timestamp" in what and not (
                columns[column].startswith("TIMESTAMP") or columns[column] == "DATE"
            ):
                raise _fail(
                    view.location,
                    f"feature view {view.name!r}: {what} column {column!r} is "
                    f"{columns[column]}, not a timestamp",
                    "Store event and created times as timestamps (or dates).",
                )
        for feat in view.features:
            if feat.expr is None and feat.name not in columns:
                raise _fail(
                    feat.location,
                    f"feature {feat.name!r} of view {view.name!r}: unknown column {feat.name!r}",
                    f"Give it an expr, or use a column of the source: {shown}.",
                )
            expr = feat.expr or q(feat.name)
            try:
                con.sql(f"SELECT CAST(({expr}) AS {SQL_TYPES[feat.dtype]}) FROM {source} LIMIT 0")
            except duckdb.Error as exc:
                raise _fail(
                    feat.location,
                    f"feature {feat.name!r} of view {view.name!r}: {str(exc).splitlines()[0]}",
                    f"Fix the expression; columns of the source: {shown}.",
                ) from exc
    finally:
        con.close()


def _check_refs(defs: Definitions, stored: dict[tuple[str, str], FeatureDefinition]) -> None:
    views = {v.name: {f.name for f in v.features} for v in defs.views}
    for (kind, name), row in stored.items():
        if kind == "feature_view" and name not in views:
            views[name] = {f["name"] for f in row.spec["features"]}  # type: ignore[attr-defined]
    odfvs = {o.name: {f.name for f in o.features} for o in defs.on_demand}
    seen: dict[tuple[str, str], str] = {}
    for d in defs.all():
        key = (_KIND[type(d)], d.name)
        if key in seen:
            raise _fail(d.location, f"{key[0]} {d.name!r} is defined twice", f"See {seen[key]}.")
        seen[key] = d.location
    for odfv in defs.on_demand:
        for source in odfv.sources:
            if source not in views:
                raise _fail(odfv.location, f"unknown source view {source!r}", "Define it.")
    for service in defs.services:
        names: dict[str, str] = {}
        for ref in service.features:
            view, _, feat = ref.partition(":")
            table = views.get(view, odfvs.get(view))
            if table is None:
                raise _fail(
                    service.location,
                    f"feature service {service.name!r}: unknown view {view!r}",
                    "Reference features as view:feature or a whole view by name.",
                )
            picked = table if feat in ("", "*") else {feat}
            if feat not in ("", "*") and feat not in table:
                raise _fail(
                    service.location,
                    f"feature service {service.name!r}: view {view!r} has no feature {feat!r}",
                    "Features: " + ", ".join(sorted(table)),
                )
            for name in picked:
                if name in names and names[name] != view:
                    raise _fail(
                        service.location,
                        f"feature service {service.name!r}: duplicate feature name {name!r} "
                        f"(from {names[name]!r} and {view!r})",
                        "Select only one of them, or rename one in its view.",
                    )
                names[name] = view


def plan(definitions: Definitions, *, workspace: Workspace | None = None) -> list[Change]:
    """Check the definitions and say what :func:`apply` would change (nothing is written).

    Raises:
        InvalidFeatureDefinition: A definition is wrong (the message starts with file:line).
    """
    from loopml.features._catalog import ViewSpec

    ws = workspace or current_workspace()
    store = ws.store
    stored = {(row.kind, row.name): row for row in store.list_feature_definitions()}
    _check_refs(definitions, stored)
    known = {e.name: e for e in definitions.entities}
    for (kind, name), row in stored.items():
        if kind == "entity" and name not in known:
            known[name] = Entity(name, dict(row.spec["keys"]), location="(stored)")  # type: ignore[call-overload]
    changes: list[Change] = []
    items: list[tuple[str, str, dict[str, Any]]] = []
    if definitions.online_store is not None:
        items.append(("project", "default", {"online_store": definitions.online_store}))
    for d in definitions.all():
        spec = _spec(d, definitions, known, ws)
        if isinstance(d, FeatureView):
            from loopml.entities import FeatureDefinition as Row

            row = Row("", "feature_view", d.name, 0, digest_of(spec), 0, "", spec)
            _check_view(d, ViewSpec.from_definition(row), ws)
        items.append((_KIND[type(d)], d.name, spec))
    for kind, name, spec in items:
        old = stored.pop((kind, name), None)
        if old is None:
            changes.append(Change(kind, name, "create", 1, (), spec))
        elif old.digest == digest_of(spec):
            changes.append(Change(kind, name, "unchanged", old.version, (), spec))
        else:
            diff = tuple(
                f"{k}: {old.spec.get(k)!r} -> {spec.get(k)!r}"
                for k in sorted(set(spec) | set(old.spec))
                if k != "location" and old.spec.get(k) != spec.get(k)
            )
            changes.append(Change(kind, name, "update", old.version + 1, diff, spec))
    for (kind, name), row in sorted(stored.items()):
        if kind != "project":
            changes.append(Change(kind, name, "not in file", row.version))
    return changes


def apply(definitions: Definitions, *, workspace: Workspace | None = None) -> list[Change]:
    """Check the definitions, store a new version of each changed one, record lineage.

    Lineage: dataset version -> feature view version (``feature_source``) and feature view
    version -> feature service version (``serves``). Definitions stored but missing from
    the file are kept (reported as ``not in file``).

    Returns:
        The plan that was carried out.
    """
    from loopml import lineage
    from loopml.entities import Relation
    from loopml.ids import ObjectKind, ObjectRef

    ws = workspace or current_workspace()
    changes = plan(definitions, workspace=ws)
    actor = ws.actor.name
    ids: dict[tuple[str, str], str] = {}
    created: set[tuple[str, str]] = set()
    services: dict[str, Any] = {}
    edges = []
    for change in changes:
        if change.action == "not in file":
            continue
        row, new = ws.store.put_feature_definition(
            actor=actor,
            kind=change.kind,
            name=change.name,
            digest=digest_of(change.spec),
            spec=change.spec,
        )
        ids[(change.kind, change.name)] = row.id
        if change.kind == "feature_service":
            services[row.id] = change
        if not new:
            continue
        created.add((change.kind, change.name))
        if change.kind == "feature_view" and change.spec["source"]["kind"] == "dataset":
            src = ObjectRef(ObjectKind.DATASET_VERSION, change.spec["source"]["version_id"])
            dst = ObjectRef(ObjectKind.FEATURE_VIEW, row.id)
            edges.append(lineage.edge(src, dst, Relation.FEATURE_SOURCE))
    # a service's serves edges: all of them for a new service version; for an unchanged
    # one, from each of its views that has a new version now
    for service_id, change in services.items():
        fresh = ("feature_service", change.name) in created
        for ref in change.spec["features"]:
            view = ref.partition(":")[0]
            if not fresh and ("feature_view", view) not in created:
                continue
            view_id = ids.get(("feature_view", view))
            if view_id is None:
                try:
                    view_id = ws.store.get_feature_definition("feature_view", view).id
                except LoopmlError:
                    continue  # an on-demand view
            dst = ObjectRef(ObjectKind.FEATURE_SERVICE, service_id)
            edges.append(
                lineage.edge(ObjectRef(ObjectKind.FEATURE_VIEW, view_id), dst, Relation.SERVES)
            )
    lineage.record(sorted(set(edges)), store=ws.store)
    return changes
