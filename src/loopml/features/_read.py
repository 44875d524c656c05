"""A feature view's values over a time range, as a table (for statistics and drift).

Rows count where the value was *known* (``max(event, created)``) inside ``[start, end)``, as
materialisation counts them. ``latest=True`` keeps the newest row per entity key as of
``end``: exactly what the online store holds after materialising up to ``end``, so the
drift of served features can be measured against a reference window.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from loopml.errors import InvalidInput
from loopml.features._catalog import Catalog
from loopml.features._materialize import to_us
from loopml.features._sources import CREATED, EVENT, KNOWN, connect, q, view_select
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    from datetime import datetime

    import pyarrow as pa

    from loopml.workspace import Workspace

#: Schema metadata of the table: the view's feature names, comma-separated.
FEATURES_KEY = b"loopml.features"


def read_feature_view(
    view: str,
    *,
    start: datetime | str | float | None = None,
    end: datetime | str | float | None = None,
    latest: bool = False,
    workspace: Workspace | None = None,
) -> pa.Table:
    """The rows of an applied feature view known in ``[start, end)``.

    Args:
        view: The view's name.
        start: Only rows known at or after this time (datetime, ISO text or unix seconds).
        end: Only rows known before this time (default: now).
        latest: Keep only the newest row per entity key (what the online store serves).
        workspace: Workspace (default: the current one).

    Returns:
        An Arrow table: the entity keys, ``event_timestamp`` and the features (their
        names also in the schema metadata ``loopml.features``).

    Raises:
        NotFound: No view of that name is applied.
        InvalidInput: ``start`` is not before ``end``.

    Example:
        >>> read_feature_view("user_stats", start="2026-01-01", latest=True)  # doctest: +SKIP
    """
    ws = workspace or current_workspace()
    spec = Catalog.load(ws.store).view(view)
    lower = to_us(start)
    upper = to_us(end) if end is not None else int(time.time() * 1_000_000)
    if lower is not None and upper is not None and lower >= upper:
        raise InvalidInput(
            f"the window of feature view {view!r} is empty: start must be before end",
            hint="Pass an earlier --start or a later --end.",
            view=view,
        )
    keys = ", ".join(q(k) for k in spec.key_names)
    features = ", ".join(q(f.name) for f in spec.features)
    con = connect(ws)
    try:
        known = f"greatest({EVENT}, coalesce({CREATED}, {EVENT}))"
        where = [f"{EVENT} IS NOT NULL", f"{known} < {upper}"]
        if lower is not None:
            where.append(f"{known} >= {lower}")
        sql = f"SELECT *, {known} AS {KNOWN} FROM ({view_select(spec, con, ws)}) WHERE " + (
            " AND ".join(where)
        )
        if latest:
            sql += (
                f" QUALIFY row_number() OVER (PARTITION BY {keys} "
                f"ORDER BY {EVENT} DESC, {CREATED} DESC NULLS LAST) = 1"
            )
        out = (
            f"SELECT {keys}, make_timestamp({EVENT}) AS event_timestamp, {features} "
            f"FROM ({sql}) ORDER BY {EVENT}"
        )
        relation = con.sql(out)
        fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
        table = fetch()
    finally:
        con.close()
    names = ",".join(f.name for f in spec.features)
    return table.replace_schema_metadata({FEATURES_KEY: names.encode()})
