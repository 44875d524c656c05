"""Run search: the run query tree compiled to one SQL statement.

Metric conditions read ``latest_metrics`` (one row per run and key), params and tags their
tables, each as a correlated ``EXISTS`` on the table's primary key, so a filter over tens
of thousands of runs stays one indexed query. Numeric comparisons on params and tags cast
only values that look like numbers (others never match).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)

from loopml.entities import BoolOp, Comparison, Not, OrderBy, Run, RunQuery
from loopml.entities.run_query import ATTRIBUTES
from loopml.errors import InvalidInput
from loopml.store.sql import tables as t

if TYPE_CHECKING:
    from sqlalchemy import Table

    from loopml.entities import Condition
    from loopml.store.sql._engine import Database

_PG_NUMBER = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
_ATTR_COLUMNS = {name: t.runs.c[name] for name in ATTRIBUTES}
_MAX_LIMIT = 100_000


def _as_number(column: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        looks = column.regexp_match(_PG_NUMBER)
    else:
        looks = and_(column.op("NOT GLOB")("*[^0-9eE.+-]*"), column.op("GLOB")("*[0-9]*"))
    return case((looks, cast(column, Float(precision=53))), else_=None)


def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if value is None:
        return column.is_(None) if op == "=" else column.is_not(None)  # type: ignore[no-any-return]
    match op:
        case "=":
            return column == value  # type: ignore[no-any-return]
        case "!=":
            return column != value  # type: ignore[no-any-return]
        case "<":
            return column < value  # type: ignore[no-any-return]
        case "<=":
            return column <= value  # type: ignore[no-any-return]
        case ">":
            return column > value  # type: ignore[no-any-return]
        case ">=":
            return column >= value  # type: ignore[no-any-return]
        case "like":
            return column.like(value)  # type: ignore[no-any-return]
        case "ilike":
            return column.ilike(value)  # type: ignore[no-any-return]
        case "in":
            return column.in_(list(value))  # type: ignore[no-any-return]
        case "not in":
            return column.not_in(list(value))  # type: ignore[no-any-return]
    raise InvalidInput(f"unknown operator {op!r} in a run filter")


def _numeric(value: Any) -> bool:
    items = value if isinstance(value, tuple) else (value,)
    return bool(items) and all(isinstance(v, float | int) for v in items)


def _kv_table(scope: str) -> Table:
    return {"metrics": t.latest_metrics, "params": t.params, "tags": t.tags}[scope]


def _comparison(cond: Comparison, dialect: str) -> ColumnElement[bool]:
    if cond.scope == "attributes":
        column = _ATTR_COLUMNS.get(cond.key)
        if column is None:
            raise InvalidInput(
                f"unknown run attribute {cond.key!r}",
                hint=f"Attributes: {', '.join(sorted(ATTRIBUTES))}.",
            )
        return _compare(column, cond.op, cond.value)
    table = _kv_table(cond.scope)
    on_run = and_(table.c.run_id == t.runs.c.id, table.c.key == cond.key)
    if cond.value is None:  # "is null": the run has no such key
        present = exists().where(on_run)
        return not_(present) if cond.op == "=" else present
    value_col: Any = table.c.value
    if cond.scope != "metrics" and _numeric(cond.value) and cond.op not in ("like", "ilike"):
        value_col = _as_number(value_col, dialect)
    return exists().where(on_run, _compare(value_col, cond.op, cond.value))


def compile_condition(cond: Condition, dialect: str) -> ColumnElement[bool]:
    """Compile a run query condition into a SQL boolean over the ``runs`` table."""
    if isinstance(cond, Comparison):
        return _comparison(cond, dialect)
    if isinstance(cond, Not):
        return not_(compile_condition(cond.item, dialect))
    if isinstance(cond, BoolOp):
        parts = [compile_condition(item, dialect) for item in cond.items]
        return and_(true(), *parts) if cond.op == "and" else or_(false(), *parts)
    raise InvalidInput(f"not a run condition: {cond!r}")


def _sort_key(order: OrderBy, dialect: str) -> list[Any]:
    if order.scope == "attributes":
        column: Any = _ATTR_COLUMNS.get(order.key)
        if column is None:
            raise InvalidInput(
                f"cannot sort by unknown run attribute {order.key!r}",
                hint=f"Attributes: {', '.join(sorted(ATTRIBUTES))}.",
            )
        keys = [column]
    else:
        table = _kv_table(order.scope)
        value = (
            select(table.c.value)
            .where(table.c.run_id == t.runs.c.id, table.c.key == order.key)
            .scalar_subquery()
        )
        keys = [value] if order.scope == "metrics" else [_as_number(value, dialect), value]
    return [(k.desc() if order.descending else k.asc()).nulls_last() for k in keys]


class SqlRunSearch:
    """search_runs / count_runs over the runs tables."""

    _db: Database

    def _where(self, query: RunQuery) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if not query.include_deleted:
            where.append(t.runs.c.deleted_at_ms.is_(None))
        if query.parent_id is not None:
            where.append(t.runs.c.parent_id == query.parent_id)
        if query.where is not None:
            where.append(compile_condition(query.where, self._db.dialect))
        return where

    def search_runs(self, query: RunQuery) -> list[Run]:
        """Runs matching ``query``, with their params and tags, in one read transaction."""
        from loopml.store.sql.runs import _to_run  # runs.py composes this mixin

        if not 0 < query.limit <= _MAX_LIMIT or query.offset < 0:
            raise InvalidInput(
                f"invalid page: limit={query.limit}, offset={query.offset}",
                hint=f"limit is 1 to {_MAX_LIMIT}; offset is 0 or more.",
            )
        order: list[Any] = []
        for item in query.order_by:
            order.extend(_sort_key(item, self._db.dialect))
        order += [t.runs.c.created_at_ms.desc(), t.runs.c.id.desc()]
        stmt: Select[Any] = (
            select(t.runs)
            .where(*self._where(query))
            .order_by(*order)
            .limit(query.limit)
            .offset(query.offset)
        )
        with self._db.read() as conn:
            rows = list(conn.execute(stmt).mappings())
            ids = [row["id"] for row in rows]
            kv: dict[str, dict[str, dict[str, str]]] = {"params": {}, "tags": {}}
            for name, table in (("params", t.params), ("tags", t.tags)):
                if not ids:
                    break
                found = conn.execute(
                    select(table.c.run_id, table.c.key, table.c.value).where(
                        table.c.run_id.in_(ids)
                    )
                )
                for run_id, key, value in found:
                    kv[name].setdefault(run_id, {})[key] = value
        return [
            _to_run(row, kv["params"].get(row["id"], {}), kv["tags"].get(row["id"], {}))
            for row in rows
        ]

    def count_runs(self, query: RunQuery) -> int:
        """How many runs match ``query`` (its paging ignored)."""
        stmt = select(func.count()).select_from(t.runs).where(*self._where(query))
        with self._db.read() as conn:
            return int(conn.execute(stmt).scalar_one())
