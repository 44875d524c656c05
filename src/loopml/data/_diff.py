"""Differences between two tables: schema, statistics (from profiles) and rows by key.

The row diff is one DuckDB query over the two Arrow tables: a full outer join on the key,
rows on one side only are added or removed, and rows on both sides with any other column
``IS DISTINCT FROM`` its counterpart are changed. No per-row Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopml.data._duck import connect, fetch_rows, fetch_table, quote
from loopml.errors import InvalidInput

if TYPE_CHECKING:
    import pyarrow as pa

SAMPLES = 5
_STATS = ("count", "nulls", "mean", "std", "distinct", "min", "max")


@dataclass(frozen=True)
class RowDiff:
    """Rows added, removed and changed between two tables with the same key."""

    key: tuple[str, ...]
    added: int
    removed: int
    changed: int
    unchanged: int
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "key": list(self.key),
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "samples": self.samples,
        }


def schema_diff(old: pa.Schema, new: pa.Schema) -> dict[str, Any]:
    """Columns added, removed and retyped."""
    before = {f.name: str(f.type) for f in old}
    after = {f.name: str(f.type) for f in new}
    return {
        "added": [c for c in after if c not in before],
        "removed": [c for c in before if c not in after],
        "retyped": [
            {"column": c, "from": before[c], "to": after[c]}
            for c in after
            if c in before and before[c] != after[c]
        ],
    }


def stats_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Per column, the profile statistics that differ (rows, nulls, mean, std, top values)."""
    out: dict[str, Any] = {"rows": {"from": old.get("rows"), "to": new.get("rows")}}
    columns: dict[str, Any] = {}
    for name, after in new.get("columns", {}).items():
        before = old.get("columns", {}).get(name)
        if before is None:
            continue
        changes = {
            stat: {"from": before.get(stat), "to": after.get(stat)}
            for stat in _STATS
            if before.get(stat) != after.get(stat)
        }
        old_top = [t["value"] for t in before.get("top", [])[:5]]
        new_top = [t["value"] for t in after.get("top", [])[:5]]
        if old_top != new_top:
            changes["top"] = {"from": old_top, "to": new_top}
        if changes:
            columns[name] = changes
    out["columns"] = columns
    return out


def row_diff(old: pa.Table, new: pa.Table, key: list[str]) -> RowDiff:
    """Rows added, removed and changed, matched on ``key`` columns.

    Raises:
        InvalidInput: A key column is missing from either table, or a key repeats.
    """
    for side, table in (("old", old), ("new", new)):
        missing = [k for k in key if k not in table.column_names]
        if missing:
            raise InvalidInput(
                f"key column(s) {', '.join(missing)} missing from the {side} table",
                hint=f"Pick key columns both tables have: {', '.join(table.column_names)}.",
            )
    shared = [c for c in new.column_names if c in old.column_names and c not in key]
    con = connect(a=old, b=new)
    try:
        keys = ", ".join(quote(k) for k in key)
        for side in ("a", "b"):
            dupes = fetch_rows(
                con,
                f"SELECT count(*) FROM (SELECT {keys} FROM {side} GROUP BY {keys} "
                "HAVING count(*) > 1)",
            )[0][0]
            if dupes:
                raise InvalidInput(
                    f"the key ({', '.join(key)}) repeats in {dupes} group(s) of the "
                    f"{'old' if side == 'a' else 'new'} table",
                    hint="A row diff needs a key that is unique in both tables.",
                )
        on = " AND ".join(f"a.{quote(k)} IS NOT DISTINCT FROM b.{quote(k)}" for k in key)
        differs = " OR ".join(f"a.{quote(c)} IS DISTINCT FROM b.{quote(c)}" for c in shared)
        differs = differs or "FALSE"
        first = quote(key[0])
        con.execute(
            f"CREATE TEMP TABLE j AS SELECT "
            f"CASE WHEN a.{first} IS NULL AND b.{first} IS NOT NULL THEN 'added' "
            f"WHEN b.{first} IS NULL AND a.{first} IS NOT NULL THEN 'removed' "
            f"WHEN {differs} THEN 'changed' ELSE 'same' END AS status, "
            + ", ".join(f"coalesce(a.{quote(k)}, b.{quote(k)}) AS {quote(k)}" for k in key)
            + f" FROM a FULL OUTER JOIN b ON {on}"
        )
        counts = dict(fetch_rows(con, "SELECT status, count(*) FROM j GROUP BY status"))
        samples: dict[str, list[dict[str, Any]]] = {}
        for status in ("added", "removed", "changed"):
            if counts.get(status):
                rows = fetch_table(
                    con,
                    f"SELECT {keys} FROM j WHERE status = '{status}' ORDER BY {keys} "
                    f"LIMIT {SAMPLES}",
                ).to_pylist()
                samples[status] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    finally:
        con.close()
    return RowDiff(
        tuple(key),
        int(counts.get("added", 0)),
        int(counts.get("removed", 0)),
        int(counts.get("changed", 0)),
        int(counts.get("same", 0)),
        samples,
    )


def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
