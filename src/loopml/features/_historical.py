"""Point-in-time correct training sets: DuckDB ASOF joins over the views' files.

For an entity row at time ``t`` and a view, a source row is *visible* when its event time
and its created time are both ``<= t``, i.e. when ``known = max(event, created) <= t``.
The answer is the visible row with the greatest event time (ties: the greatest created
time), or null when that row is older than the TTL. Per key, the rows are put on a
timeline ordered by ``known``, keeping only rows that beat every row known before them
(a backfilled row with an old event time never becomes the answer); the answer at ``t``
is then the last timeline row with ``known <= t`` — one ASOF join per view.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput
from loopml.features._catalog import SQL_TYPES, Catalog, Selection
from loopml.features._sources import CREATED, EVENT, KNOWN, connect, lit, q, view_select
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd
    import pyarrow as pa

    from loopml.entities import DatasetVersion
    from loopml.features._catalog import FieldSpec, ViewSpec
    from loopml.workspace import Workspace

ROW, T = "__row", "__t_us"


def timeline_sql(view: ViewSpec, fields: Sequence[FieldSpec], con: Any, ws: Workspace) -> str:
    """The view's rows that each became the answer at their ``known`` time, per key."""
    keys = ", ".join(q(k) for k in view.key_names)
    not_null = " AND ".join(f"{q(k)} IS NOT NULL" for k in view.key_names)
    rows = (
        f"SELECT *, greatest({EVENT}, coalesce({CREATED}, {EVENT})) AS {KNOWN} "
        f"FROM ({view_select(view, con, ws, fields)}) WHERE {EVENT} IS NOT NULL AND {not_null}"
    )
    if view.created_timestamp is None:
        return rows
    best_per_instant = (
        f"SELECT * FROM ({rows}) QUALIFY row_number() OVER (PARTITION BY {keys}, {KNOWN} "
        f"ORDER BY {EVENT} DESC, {CREATED} DESC NULLS LAST) = 1"
    )
    return (
        f"SELECT * FROM ({best_per_instant}) QUALIFY {EVENT} >= coalesce(max({EVENT}) OVER "
        f"(PARTITION BY {keys} ORDER BY {KNOWN} ROWS BETWEEN UNBOUNDED PRECEDING AND "
        f"1 PRECEDING), {EVENT})"
    )


def _entity_table(entity_df: Any, timestamp_column: str) -> pa.Table:
    import pyarrow as pa

    if isinstance(entity_df, (str, os.PathLike)):
        path = Path(entity_df)
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        elif path.suffix.lower() in (".csv", ".tsv"):
            import pyarrow.csv as pcsv

            table = pcsv.read_csv(path)
        else:
            raise InvalidInput(
                f"{path}: entity rows must be a .parquet or .csv file", path=str(path)
            )
    elif isinstance(entity_df, pa.Table):
        table = entity_df
    else:
        table = pa.Table.from_pandas(entity_df, preserve_index=False)
    if timestamp_column not in table.column_names:
        raise InvalidInput(
            f"entity rows have no {timestamp_column!r} column",
            hint="Add each row's time as that column, or name it with timestamp_column= "
            "(CLI: --timestamp-column). Columns: " + ", ".join(table.column_names[:20]),
        )
    for name in (ROW, T):
        if name in table.column_names:
            raise InvalidInput(f"entity rows may not have a column named {name!r}")
    return table.append_column(ROW, pa.array(range(table.num_rows), pa.int64()))


def build_sql(
    selection: Selection,
    columns: Sequence[str],
    timestamp_column: str,
    con: Any,
    ws: Workspace,
) -> str:
    """The whole point-in-time query over the registered ``__entities`` table."""
    missing = [k for k in selection.key_columns if k not in columns]
    missing += [r for r in selection.request_fields if r not in columns]
    if missing:
        raise InvalidInput(
            f"entity rows lack the column(s) {', '.join(missing)}",
            hint="Every join key of the selected views (and every request field of their "
            "on-demand views) must be a column of the entity rows.",
        )
    casts = ", ".join(
        f"CAST({q(k)} AS {SQL_TYPES[t]}) AS {q(k)}" for k, t in selection.key_columns.items()
    )
    replace = f" REPLACE ({casts})" if casts else ""
    ctes = [
        f"e0 AS (SELECT *{replace}, epoch_us(CAST({q(timestamp_column)} AS TIMESTAMP)) AS {T} "
        "FROM __entities)"
    ]
    for i, (view, fields) in enumerate(selection.views, start=1):
        ctes.append(f"t{i} AS ({timeline_sql(view, fields, con, ws)})")
        fresh = (
            f"t{i}.{EVENT} IS NOT NULL"
            if view.ttl_s is None
            else f"e{i - 1}.{T} - t{i}.{EVENT} <= {round(view.ttl_s * 1_000_000)}"
        )
        picks = ", ".join(
            f"CASE WHEN {fresh} THEN t{i}.{q(f.name)} END AS {q(f.name)}" for f in fields
        )
        on = " AND ".join(f"e{i - 1}.{q(k)} = t{i}.{q(k)}" for k in view.key_names)
        ctes.append(
            f"e{i} AS (SELECT e{i - 1}.*, {picks} FROM e{i - 1} ASOF LEFT JOIN t{i} "
            f"ON {on} AND e{i - 1}.{T} >= t{i}.{KNOWN})"
        )
    last = f"e{len(selection.views)}"
    extra = [
        f"CAST(({f.expr}) AS {SQL_TYPES[f.dtype]}) AS {q(f.name)}"
        for odfv, fields in selection.on_demand
        if not odfv.transform
        for f in fields
    ]
    out = ", ".join([f"* EXCLUDE ({ROW}, {T})", *extra])
    return f"WITH {', '.join(ctes)} SELECT {out} FROM {last} ORDER BY {ROW}"


class HistoricalFeatures:
    """A point-in-time join, run when its result is asked for (``to_pandas``, ``to_parquet``).

    Attributes:
        selection: The views and features joined.
        sql: The DuckDB query.
    """

    def __init__(self, con: Any, sql: str, selection: Selection, workspace: Workspace) -> None:
        self._con = con
        self.sql = sql
        self.selection = selection
        self._workspace = workspace

    def _post(self, table: pa.Table) -> pa.Table:
        import pyarrow as pa

        for odfv, fields in self.selection.on_demand:
            if odfv.transform:
                from loopml.features._catalog import load_callable

                frame = load_callable(odfv.transform)(table.to_pandas())
                for f in fields:
                    table = table.append_column(f.name, pa.array(frame[f.name]))
        return table

    def to_arrow(self) -> pa.Table:
        """The training set as an Arrow table (entity columns, then the features)."""
        relation = self._con.sql(self.sql)
        fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
        return self._post(fetch())

    def to_pandas(self) -> pd.DataFrame:
        """The training set as a pandas DataFrame."""
        return self.to_arrow().to_pandas()

    to_df = to_pandas

    def to_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Stream the training set into a Parquet file (bounded memory); returns its path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if any(odfv.transform for odfv, _ in self.selection.on_demand):
            import pyarrow.parquet as pq

            pq.write_table(self.to_arrow(), target)
        else:
            self._con.execute(f"COPY ({self.sql}) TO {lit(str(target))} (FORMAT parquet)")
        return target

    def save(self, dataset: str, *, message: str = "") -> DatasetVersion:
        """Commit the training set as a version of ``dataset``, with lineage to the views."""
        from loopml import lineage
        from loopml.data import repo_for
        from loopml.entities import Relation
        from loopml.ids import ObjectKind, ObjectRef

        with tempfile.TemporaryDirectory(dir=self._workspace.cache_dir) as tmp:
            path = self.to_parquet(Path(tmp) / "training_set.parquet")
            names = ", ".join(v.name for v, _ in self.selection.views)
            version = repo_for(self._workspace).commit(
                dataset, path, message=message or f"training set from {names}"
            )
        dst = ObjectRef(ObjectKind.DATASET_VERSION, version.id)
        lineage.record(
            [
                lineage.edge(ObjectRef(ObjectKind.FEATURE_VIEW, v.id), dst, Relation.FEATURES)
                for v, _ in self.selection.views
            ],
            store=self._workspace.store,
        )
        return version


def get_historical_features(
    entity_df: Any,
    features: Sequence[str] | str,
    *,
    timestamp_column: str = "event_timestamp",
    memory_limit: str | None = None,
    workspace: Workspace | None = None,
) -> HistoricalFeatures:
    """Join features to entity rows as they were known at each row's time.

    Args:
        entity_df: Entity rows (pandas DataFrame, Arrow table, or a .parquet/.csv path)
            with the views' join keys and ``timestamp_column``.
        features: ``view:feature`` / ``view`` references, or a feature service's name.
        timestamp_column: Column holding each row's time.
        memory_limit: DuckDB memory limit (e.g. ``"2GB"``); beyond it the join spills to
            the workspace cache folder.
        workspace: Workspace whose applied definitions are used (default: the current one).

    Returns:
        A lazy result: ``to_pandas()``, ``to_arrow()``, ``to_parquet(path)``, ``save(dataset)``.

    Raises:
        NotFound: A view, feature or service is not applied.
        InvalidInput: The entity rows lack a key or the timestamp column.

    Example:
        >>> train = get_historical_features(
        ...     rows, ["user_stats:amount"]
        ... ).to_pandas()  # doctest: +SKIP
    """
    ws = workspace or current_workspace()
    selection = Catalog.load(ws.store).select(features)
    table = _entity_table(entity_df, timestamp_column)
    con = connect(ws, memory_limit=memory_limit)
    con.register("__entities", table)
    sql = build_sql(selection, table.column_names, timestamp_column, con, ws)
    return HistoricalFeatures(con, sql, selection, ws)
