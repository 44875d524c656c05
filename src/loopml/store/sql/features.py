"""SQL implementation of :class:`~loopml.store.protocols.FeatureStore`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, update

from loopml.entities import FeatureDefinition, FeatureWatermark
from loopml.errors import InvalidInput, NotFound
from loopml.ids import new_id
from loopml.store.sql import tables as t
from loopml.store.sql._time import now_ms

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import RowMapping

    from loopml.store.sql._engine import Database

KINDS = ("entity", "feature_view", "on_demand_feature_view", "feature_service", "project")


def _to_definition(row: RowMapping) -> FeatureDefinition:
    return FeatureDefinition(
        id=row["id"],
        kind=row["kind"],
        name=row["name"],
        version=int(row["version"]),
        digest=row["digest"],
        created_at_ms=int(row["created_at_ms"]),
        created_by=row["created_by"],
        spec=json.loads(row["spec_json"]),
    )


def _to_watermark(row: RowMapping) -> FeatureWatermark:
    mark = row["watermark_ms"]
    return FeatureWatermark(
        view=row["view"],
        target=row["target"],
        watermark_ms=None if mark is None else int(mark),
        end_ms=int(row["end_ms"]),
        materialized_at_ms=int(row["materialized_at_ms"]),
        rows=int(row["rows"]),
    )


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(
            f"unknown feature definition kind {kind!r}", hint=f"Use one of {', '.join(KINDS)}."
        )
    return kind


class SqlFeatureStore:
    """Feature definitions (append-only versions) and materialisation watermarks."""

    _db: Database

    def put_feature_definition(
        self, *, actor: str, kind: str, name: str, digest: str, spec: Mapping[str, object]
    ) -> tuple[FeatureDefinition, bool]:
        """Add a version of a definition unless its newest version has the same digest.

        Returns:
            The newest version and whether it was created now.
        """
        _check_kind(kind)
        table = t.feature_definitions
        with self._db.write() as conn:
            latest = (
                conn.execute(
                    select(table)
                    .where(table.c.kind == kind, table.c.name == name)
                    .order_by(table.c.version.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
            if latest is not None and latest["digest"] == digest:
                return _to_definition(latest), False
            values = {
                "id": new_id(),
                "kind": kind,
                "name": name,
                "version": 1 if latest is None else int(latest["version"]) + 1,
                "digest": digest,
                "spec_json": json.dumps(spec, sort_keys=True, default=str),
                "created_at_ms": now_ms(),
                "created_by": actor,
            }
            conn.execute(insert(table).values(**values))
            row = conn.execute(select(table).where(table.c.id == values["id"])).mappings().one()
            return _to_definition(row), True

    def get_feature_definition(
        self, kind: str, name: str, version: int | None = None
    ) -> FeatureDefinition:
        """The newest (or the numbered) version of a definition; NotFound if absent."""
        table = t.feature_definitions
        query = select(table).where(table.c.kind == _check_kind(kind), table.c.name == name)
        if version is not None:
            query = query.where(table.c.version == version)
        with self._db.read() as conn:
            row = conn.execute(query.order_by(table.c.version.desc()).limit(1)).mappings().first()
        if row is None:
            shown = name if version is None else f"{name} v{version}"
            raise NotFound(
                kind.replace("_", " "), shown, hint="List definitions with `loopml features list`."
            )
        return _to_definition(row)

    def list_feature_definitions(self, kind: str | None = None) -> list[FeatureDefinition]:
        """The newest version of every definition (of one kind), by kind then name."""
        table = t.feature_definitions
        newest = (
            select(table.c.kind, table.c.name, func.max(table.c.version).label("v"))
            .group_by(table.c.kind, table.c.name)
            .subquery()
        )
        query = select(table).join(
            newest,
            (newest.c.kind == table.c.kind)
            & (newest.c.name == table.c.name)
            & (newest.c.v == table.c.version),
        )
        if kind is not None:
            query = query.where(table.c.kind == _check_kind(kind))
        with self._db.read() as conn:
            rows = conn.execute(query.order_by(table.c.kind, table.c.name)).mappings().all()
        return [_to_definition(r) for r in rows]

    def feature_definition_history(self, kind: str, name: str) -> list[FeatureDefinition]:
        """Every version of one definition, newest first."""
        table = t.feature_definitions
        with self._db.read() as conn:
            rows = (
                conn.execute(
                    select(table)
                    .where(table.c.kind == _check_kind(kind), table.c.name == name)
                    .order_by(table.c.version.desc())
                )
                .mappings()
                .all()
            )
        return [_to_definition(r) for r in rows]

    def set_feature_watermark(
        self, view: str, target: str, *, watermark_ms: int | None, end_ms: int, rows: int
    ) -> FeatureWatermark:
        """Record a finished materialisation of ``view`` into ``target`` (upsert)."""
        table = t.feature_watermarks
        values = {
            "watermark_ms": watermark_ms,
            "end_ms": end_ms,
            "materialized_at_ms": now_ms(),
            "rows": rows,
        }
        where = (table.c.view == view) & (table.c.target == target)
        with self._db.write() as conn:
            done = conn.execute(update(table).where(where).values(**values)).rowcount
            if not done:
                conn.execute(insert(table).values(view=view, target=target, **values))
            return _to_watermark(conn.execute(select(table).where(where)).mappings().one())

    def list_feature_watermarks(self, view: str | None = None) -> list[FeatureWatermark]:
        """Materialisation progress of every view (or one), by view then target."""
        table = t.feature_watermarks
        query = select(table).order_by(table.c.view, table.c.target)
        if view is not None:
            query = query.where(table.c.view == view)
        with self._db.read() as conn:
            return [_to_watermark(r) for r in conn.execute(query).mappings()]
