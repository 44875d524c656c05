"""Materialisation: the newest value per entity key of each view, into the online store.

Incremental by default: a run reads only source rows that became known (``max(event,
created)``) after the view's watermark and up to ``end`` (default now), keeps the newest
per key, and the online store keeps a record only when it is newer than the stored one.
The watermark is the ``end`` of the last run, kept per (view, online store) in the
metadata store. A new view version (other features, another source version) starts over.
Without a created timestamp, a row that arrives late with an old event time is not seen
by later incremental runs: give such views a created timestamp, or pass ``start``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput
from loopml.features._catalog import Catalog
from loopml.features._online import encode_key, pack
from loopml.features._sources import CREATED, EVENT, KNOWN, batches, connect, q, view_select
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from loopml.features._catalog import ViewSpec
    from loopml.features._online import OnlineStore, Record
    from loopml.workspace import Workspace


def to_us(value: datetime | str | float | None) -> int | None:
    """Microseconds since the epoch from a datetime (naive = UTC), ISO text or seconds."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput(
                f"not a time: {value!r}", hint="Write times as ISO 8601, e.g. 2026-12-01T10:00."
            ) from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1_000_000)
    return int(float(value) * 1_000_000)


@dataclass(frozen=True)
class MaterializeResult:
    """One view's materialisation: the window read and the records sent."""

    view: str
    target: str
    start_us: int | None
    end_us: int
    rows: int
    full: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "view": self.view,
            "target": self.target,
            "start_us": self.start_us,
            "end_us": self.end_us,
            "rows": self.rows,
            "full": self.full,
        }


def _records(con: Any, sql: str, view: ViewSpec) -> Iterator[Record]:
    nkeys = len(view.keys)
    reader = batches(con.sql(sql), 50_000)
    for batch in reader:
        cols = [c.to_pylist() for c in batch.columns]
        keys, feats = cols[:nkeys], cols[nkeys + 2 :]
        events, created = cols[nkeys], cols[nkeys + 1]
        for i in range(batch.num_rows):
            yield (
                encode_key([k[i] for k in keys]),
                events[i],
                created[i],
                pack([f[i] for f in feats]),
            )


def materialize_view(
    view: ViewSpec,
    online: OnlineStore,
    ws: Workspace,
    *,
    start_us: int | None,
    end_us: int,
) -> MaterializeResult:
    """Materialise one view into ``online`` (see the module docstring)."""
    full = online.schema(view.name) != view.digest
    lower = start_us
    if full:
        online.reset(view.name, view.digest)
        lower = None
    elif lower is None:
        marks = [
            m for m in ws.store.list_feature_watermarks(view.name) if m.target == online.target
        ]
        lower = None if not marks or marks[0].watermark_ms is None else marks[0].watermark_ms * 1000
    keys = ", ".join(q(k) for k in view.key_names)
    not_null = " AND ".join(f"{q(k)} IS NOT NULL" for k in view.key_names)
    con = connect(ws)
    try:
        rows = (
            f"SELECT *, greatest({EVENT}, coalesce({CREATED}, {EVENT})) AS {KNOWN} "
            f"FROM ({view_select(view, con, ws)}) WHERE {EVENT} IS NOT NULL AND {not_null}"
        )
        window = f"{KNOWN} <= {end_us}" + ("" if lower is None else f" AND {KNOWN} > {lower}")
        sql = (
            f"SELECT * EXCLUDE ({KNOWN}) FROM ({rows}) WHERE {window} QUALIFY row_number() "
            f"OVER (PARTITION BY {keys} ORDER BY {EVENT} DESC, {CREATED} DESC NULLS LAST) = 1"
        )
        sent = online.write(view.name, _records(con, sql, view))
    finally:
        con.close()
    ws.store.set_feature_watermark(
        view.name, online.target, watermark_ms=end_us // 1000, end_ms=end_us // 1000, rows=sent
    )
    return MaterializeResult(view.name, online.target, lower, end_us, sent, full)


def materialize(
    views: Sequence[str] | None = None,
    *,
    start: datetime | str | float | None = None,
    end: datetime | str | float | None = None,
    online_store: str | None = None,
    workspace: Workspace | None = None,
) -> list[MaterializeResult]:
    """Write the newest feature values per entity key into the online store.

    Args:
        views: View names (default: every applied view with ``online`` true).
        start: Read rows known after this time instead of after the watermark (a backfill).
        end: Read rows known up to this time (default: now).
        online_store: Online store URL (default: the applied ``online_store``, else SQLite
            in the loopml home).
        workspace: Workspace (default: the current one).

    Returns:
        One result per view.
    """
    from loopml.features._lookup import client_for

    ws = workspace or current_workspace()
    client = client_for(ws, online_store)
    catalog = Catalog.load(ws.store)
    chosen = (
        [catalog.view(n) for n in views]
        if views
        else [v for v in catalog.views.values() if v.online]
    )
    end_us = to_us(end) if end is not None else int(time.time() * 1000) * 1000
    assert end_us is not None
    results = [
        materialize_view(v, client.online, ws, start_us=to_us(start), end_us=end_us) for v in chosen
    ]
    client.refresh()
    return results
