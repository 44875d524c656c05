"""Point-in-time correct training sets: DuckDB ASOF joins over the views' files.

For an entity row at time ``t`` and a view, a source row is *visible* when its event time
and its created time are both ``<= t``, i.e. when ``known = max(event, created) <= t``.
The answer is the visible row with the greatest event time (ties: the greatest created
time), or null when that row is older than the TTL. Per key, the rows are put on a
timeline ordered by ``known``, keeping only rows that beat every row known before them
(a backfilled row with an old event time never becomes the answer); the answer at ``t``
is then the last timeline row with ``known <= t`` — one ASOF join per view.

The joins run on narrow columns only (keys, times and each source row's id in its Parquet
files), giving per entity row and view the id of the answering row. The feature columns
are then read once, only for the ids answered, and put beside the entity rows with an
Arrow ``take``: the wide columns are never sorted, windowed or joined, and the result
keeps the entity rows' order without sorting it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput
from loopml.features._catalog import SQL_TYPES, Catalog, Selection
from loopml.features._gather import RID, gather, int64_array, take_rows
from loopml.features._sources import (
    CREATED,
    EVENT,
    KNOWN,
    ROW_ID,
    LazyConnection,
    parquet_clause,
    parquet_files,
    q,
    time_columns,
)
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    import pandas as pd
    import pyarrow as pa

    from loopml.entities import DatasetVersion
    from loopml.features._catalog import ViewSpec
    from loopml.workspace import Workspace

ROW, T = "__row", "__t_us"
#: Rows per written row group / per assembled slice when streaming to Parquet.
CHUNK_ROWS = 131_072


def timeline_sql(view: ViewSpec, clause: str) -> str:
    """The ids and times of the view's rows that each became the answer at their ``known``
    time, per key (``clause``: the view's ``read_parquet``)."""
    keys = ", ".join(q(k) for k in view.key_names)
    not_null = " AND ".join(f"{q(k)} IS NOT NULL" for k in view.key_names)
    narrow = f"SELECT {', '.join(time_columns(view))}, {ROW_ID} AS {RID} FROM {clause}"
    rows = (
        f"SELECT *, greatest({EVENT}, coalesce({CREATED}, {EVENT})) AS {KNOWN} "
        f"FROM ({narrow}) WHERE {EVENT} IS NOT NULL AND {not_null}"
    )
    if view.created_timestamp is None:
        return rows
    # One window: per key in ``known`` order, a row is kept when it is the best of its
    # instant (the last one: greatest event, then created, then id) and its event time is
    # not older than any row known before it.
    order = f"PARTITION BY {keys} ORDER BY {KNOWN}, {EVENT}, {CREATED} NULLS FIRST, {RID}"
    return (
        f"SELECT * FROM ({rows}) QUALIFY lead({KNOWN}) OVER ({order}) IS DISTINCT FROM "
        f"{KNOWN} AND {EVENT} >= coalesce(max({EVENT}) OVER ({order} ROWS BETWEEN "
        f"UNBOUNDED PRECEDING AND 1 PRECEDING), {EVENT})"
    )


def _entity_table(entity_df: Any, timestamp_column: str) -> pa.Table:
    import pyarrow as pa

    if isinstance(entity_df, (str, os.PathLike)):
        path = Path(entity_df)
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            # One file: ParquetFile skips the dataset machinery (its import alone is
            # tens of MB and most of a second); a folder of parts needs it.
            table = pq.read_table(path) if path.is_dir() else pq.ParquetFile(path).read()
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
    import numpy as np

    return table.append_column(ROW, int64_array(np.arange(table.num_rows)))


def rid_column(i: int) -> str:
    """The chain's column holding view ``i``'s answering row id (null: none or stale)."""
    return f"{RID}{i}"


def build_sql(
    selection: Selection,
    columns: Sequence[str],
    timestamp_column: str,
    clauses: Sequence[str],
) -> list[str]:
    """The narrow point-in-time queries, one ASOF join per view: the first reads the
    registered ``__entities``, each next one the previous one's result registered as
    ``__chain``; the last gives per entity row (in order) its typed keys and, per view,
    the id of the answering source row. One view at a time keeps one timeline in memory."""
    missing = [k for k in selection.key_columns if k not in columns]
    missing += [r for r in selection.request_fields if r not in columns]
    if missing:
        raise InvalidInput(
            f"entity rows lack the column(s) {', '.join(missing)}",
            hint="Every join key of the selected views (and every request field of their "
            "on-demand views) must be a column of the entity rows.",
        )
    casts = "".join(
        f", CAST({q(k)} AS {SQL_TYPES[t]}) AS {q(k)}" for k, t in selection.key_columns.items()
    )
    first = (
        f"(SELECT {ROW}{casts}, epoch_us(CAST({q(timestamp_column)} AS TIMESTAMP)) "
        f"AS {T} FROM __entities)"
    )
    statements = []
    count = len(selection.views)
    for i, ((view, _), clause) in enumerate(zip(selection.views, clauses, strict=True), 1):
        fresh = (
            f"t.{EVENT} IS NOT NULL"
            if view.ttl_s is None
            else f"e.{T} - t.{EVENT} <= {round(view.ttl_s * 1_000_000)}"
        )
        on = " AND ".join(f"e.{q(k)} = t.{q(k)}" for k in view.key_names)
        kept = f"e.* EXCLUDE ({T})" if i == count else "e.*"
        statements.append(
            f"SELECT {kept}, CASE WHEN {fresh} THEN t.{RID} END AS {rid_column(i)} "
            f"FROM {first if i == 1 else '__chain'} e ASOF LEFT JOIN "
            f"({timeline_sql(view, clause)}) t ON {on} AND e.{T} >= t.{KNOWN}"
            + (f" ORDER BY {ROW}" if i == count else "")
        )
    if not statements:
        statements.append(f"SELECT * EXCLUDE ({T}) FROM {first} ORDER BY {ROW}")
    return statements


def _fetch(relation: Any) -> pa.Table:
    """A DuckDB relation's rows as one Arrow table (DuckDB 1.x and 2.x names)."""
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    return fetch()


class HistoricalFeatures:
    """A point-in-time join, run when its result is asked for (``to_pandas``, ``to_parquet``).

    Attributes:
        selection: The views and features joined.
        sql: The DuckDB queries answering, per entity row and view, the source row's id
            (one ASOF join per view, separated by ``;``).
    """

    def __init__(
        self,
        memory_limit: str | None,
        statements: Sequence[str],
        selection: Selection,
        workspace: Workspace,
        entities: pa.Table,
        files: Sequence[Sequence[str]],
    ) -> None:
        self._connection = LazyConnection(workspace, memory_limit)
        self._statements = list(statements)
        self.sql = ";\n".join(self._statements)
        self.selection = selection
        self._workspace = workspace
        self._entities = entities
        self._files = [list(f) for f in files]

    def _chain(self) -> pa.Table:
        """Per entity row, in order: its typed keys and each view's answering row id."""
        con = self._connection()
        con.register("__entities", self._entities)
        chain = None
        try:
            for sql in self._statements:
                if chain is not None:
                    con.register("__chain", chain)
                chain = _fetch(con.sql(sql))
        finally:
            self._connection.close()
        assert chain is not None
        return chain

    def _slices(self, rows: int | None) -> Iterator[pa.Table]:
        """The training set, ``rows`` entity rows at a time (None: all at once)."""
        import pyarrow as pa

        chain = self._chain()
        positions = []
        features = []
        try:
            for i, ((_, fields), files) in enumerate(
                zip(self.selection.views, self._files, strict=True), 1
            ):
                table, where, missing = gather(
                    files, fields, chain[rid_column(i)], self._connection
                )
                features.append(table)
                positions.append((where, missing))
        finally:
            self._connection.close()
        keys = set(self.selection.key_columns)
        entities = self._entities
        total = entities.num_rows
        step = max(total if rows is None else rows, 1)
        try:
            for start in range(0, max(total, 1), step):
                length = min(step, total - start)
                names: list[str] = []
                arrays: list[Any] = []
                for name in entities.column_names:
                    if name == ROW and not self._needs_row():
                        continue
                    names.append(name)
                    source = chain if name in keys else entities
                    arrays.append(source[name].slice(start, length))
                for (where, missing), table in zip(positions, features, strict=True):
                    part = slice(start, start + length)
                    taken = take_rows(table, where[part], missing[part])
                    names += taken.column_names
                    arrays += taken.columns
                yield self._post(pa.Table.from_arrays(arrays, names=names))
        finally:
            self._connection.close()

    def _needs_row(self) -> bool:
        return any(not odfv.transform for odfv, _ in self.selection.on_demand)

    def _post(self, table: pa.Table) -> pa.Table:
        import pyarrow as pa

        extra = [
            f"CAST(({f.expr}) AS {SQL_TYPES[f.dtype]}) AS {q(f.name)}"
            for odfv, fields in self.selection.on_demand
            if not odfv.transform
            for f in fields
        ]
        if extra:
            con = self._connection()
            con.register("__slice", table)
            try:
                sql = f"SELECT * EXCLUDE ({ROW}), {', '.join(extra)} FROM __slice ORDER BY {ROW}"
                table = _fetch(con.sql(sql))
            finally:
                con.unregister("__slice")
        for odfv, fields in self.selection.on_demand:
            if odfv.transform:
                from loopml.features._catalog import load_callable

                frame = load_callable(odfv.transform)(table.to_pandas())
                for f in fields:
                    table = table.append_column(f.name, pa.array(frame[f.name]))
        return table

    def to_arrow(self) -> pa.Table:
        """The training set as an Arrow table (entity columns, then the features)."""
        return next(self._slices(None))

    def to_pandas(self) -> pd.DataFrame:
        """The training set as a pandas DataFrame."""
        # The Arrow table is ours alone: let the conversion free it column by column.
        return self.to_arrow().to_pandas(split_blocks=True, self_destruct=True)

    to_df = to_pandas

    def to_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Stream the training set into a Parquet file (bounded memory); returns its path."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.tmp{os.getpid()}")
        writer = None
        try:
            for piece in self._slices(CHUNK_ROWS):
                if writer is None:
                    # Dictionaries of float features are never smaller (each column's
                    # builder also holds up to a page of them): only other types try.
                    keep = [f.name for f in piece.schema if not pa.types.is_floating(f.type)]
                    writer = pq.ParquetWriter(staging, piece.schema, use_dictionary=keep)
                writer.write_table(piece, row_group_size=CHUNK_ROWS)
        finally:
            if writer is not None:
                writer.close()
        staging.replace(target)
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
    connection = LazyConnection(ws, memory_limit)
    try:
        files = [parquet_files(view, connection, ws) for view, _ in selection.views]
    finally:
        connection.close()
    clauses = [parquet_clause(f) for f in files]
    statements = build_sql(selection, table.column_names, timestamp_column, clauses)
    return HistoricalFeatures(memory_limit, statements, selection, ws, table, files)
