"""The run query tree: what a run filter says, independent of how it is parsed or run.

The tracking capability parses the filter language into these nodes; a store compiles
them (the SQL store into one ``WHERE`` clause). No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

#: Entities a filter or sort can name: ``metrics.auc``, ``params.C``, ``tags.team``,
#: ``attributes.status`` (``attributes.`` may be left out).
Scope = Literal["metrics", "params", "tags", "attributes"]

#: Run attributes a filter or sort can use, and the value type each compares as.
ATTRIBUTES: Final = {
    "id": "str",
    "name": "str",
    "status": "str",
    "parent_id": "str",
    "created_at_ms": "num",
    "ended_at_ms": "num",
    "notes": "str",
}

Operator = Literal["=", "!=", "<", "<=", ">", ">=", "like", "ilike", "in", "not in"]
Value = str | float | tuple[str | float, ...] | None


@dataclass(frozen=True)
class Comparison:
    """``scope.key OP value``; ``value`` None with ``=``/``!=`` means "is (not) null"."""

    scope: Scope
    key: str
    op: Operator
    value: Value


@dataclass(frozen=True)
class BoolOp:
    """``and``/``or`` over two or more conditions."""

    op: Literal["and", "or"]
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """``not condition``."""

    item: Condition


Condition = Comparison | BoolOp | Not


@dataclass(frozen=True)
class OrderBy:
    """Sort by ``scope.key``; runs without the value sort last either way."""

    scope: Scope
    key: str
    descending: bool = False


@dataclass(frozen=True)
class RunQuery:
    """A run search: filter, sort, page, and whether soft-deleted runs are included."""

    where: Condition | None = None
    order_by: tuple[OrderBy, ...] = field(default_factory=tuple)
    limit: int = 100
    offset: int = 0
    include_deleted: bool = False
    parent_id: str | None = None
