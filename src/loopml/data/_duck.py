"""DuckDB helpers: a private in-memory connection and Arrow results on every version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


def connect(**tables: pa.Table) -> Any:
    """An in-memory DuckDB connection with ``tables`` registered under their names."""
    import duckdb

    con = duckdb.connect()
    for name, table in tables.items():
        con.register(name, table)
    return con


def fetch_table(con: Any, sql: str) -> pa.Table:
    """Run ``sql`` and return the result as an Arrow table (DuckDB 0.10 to 2.x)."""
    relation = con.sql(sql)
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    table: pa.Table = fetch()
    return table


def fetch_rows(con: Any, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` and return its rows as tuples."""
    rows: list[tuple[Any, ...]] = con.execute(sql).fetchall()
    return rows


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A SQL string literal, quoted."""
    return "'" + value.replace("'", "''") + "'"
