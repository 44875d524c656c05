"""Read the feature columns of chosen source rows (by row id) from a view's Parquet files.

A row id is ``file index << 40 | row number`` (``ROW_ID`` in DuckDB). When every feature
is a plain column already of its declared type, the rows are taken with pyarrow one
column chunk at a time, skipping row groups that hold none of them: beyond the rows kept,
reading holds one column chunk, whatever the width of the view. Otherwise (SQL
expressions, casts, a column missing from a file) DuckDB computes the typed features over
the chosen rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopml.features._sources import ROW_ID, feature_columns, parquet_clause, q

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy as np
    import pyarrow as pa

    from loopml.features._catalog import FieldSpec

RID = "__rid"
_SHIFT = 40
#: Source rows up to which a lookup table (8 bytes a row) maps row ids to positions.
LOOKUP_ROWS = 1 << 20


def lookup_fits(source_rows: int, entity_rows: int) -> bool:
    """Whether a lookup table over the source rows is cheap enough (else ids are sorted):
    up to ``LOOKUP_ROWS``, or 4 source rows per entity row."""
    return source_rows <= max(4 * entity_rows, LOOKUP_ROWS)


def int64_array(values: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """An Arrow int64 array over ``values`` (null where ``missing``), built from buffers:
    ``pa.array`` on a numpy array imports pandas (tens of MB) to check its type."""
    import numpy as np
    import pyarrow as pa

    data = np.ascontiguousarray(values, dtype=np.int64)
    validity = None
    if missing is not None and missing.any():
        validity = pa.py_buffer(np.packbits(~missing, bitorder="little"))
    return pa.Array.from_buffers(pa.int64(), len(data), [validity, pa.py_buffer(data)])


def int64_values(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``(values, missing)`` of an int64 column as numpy arrays, read from its buffers
    (``to_numpy`` and ``fill_null`` would import pandas too); a missing value's slot holds
    an arbitrary number."""
    import numpy as np
    import pyarrow as pa

    arr = column
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    count = len(arr)
    data = arr.buffers()[1]
    if count == 0 or data is None:
        return np.zeros(count, np.int64), np.ones(count, bool)
    values = np.frombuffer(data, np.int64, count, arr.offset * 8)
    nulls = arr.is_null()
    bits = np.frombuffer(nulls.buffers()[1], np.uint8)
    missing = np.unpackbits(bits, count=nulls.offset + count, bitorder="little")
    return values, missing[nulls.offset :].astype(bool)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending (sort-based: ``np.unique``'s hash path is seconds
    slower on a million row ids)."""
    import numpy as np

    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _arrow_type(dtype: str) -> pa.DataType:
    import pyarrow as pa

    return {
        "bool": pa.bool_(),
        "float32": pa.float32(),
        "float64": pa.float64(),
        "int32": pa.int32(),
        "int64": pa.int64(),
        "string": pa.string(),
        "timestamp": pa.timestamp("us"),
    }[dtype]


def _plain(files: Sequence[str], fields: Sequence[FieldSpec]) -> list[Any] | None:
    """The opened files when pyarrow can take the features as they are, else None."""
    import pyarrow.parquet as pq

    if any(f.expr for f in fields):
        return None
    opened = []
    for path in files:
        handle = pq.ParquetFile(path, pre_buffer=False)
        schema = handle.schema_arrow
        for f in fields:
            index = schema.get_field_index(f.name)
            if index < 0 or schema.field(index).type != _arrow_type(f.dtype):
                return None
        opened.append(handle)
    return opened


def gather(
    files: Sequence[str],
    fields: Sequence[FieldSpec],
    ids: pa.ChunkedArray | pa.Array,
    connection: Callable[[], Any],
) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """The typed ``fields`` of the source rows ``ids`` name (null: none), each read once.

    Args:
        files: The view's Parquet files, in ``file_index`` order.
        fields: The features to read.
        ids: One row id (or null) per entity row.
        connection: Gives the DuckDB connection, opened only when it is needed.

    Returns:
        ``(table, where, missing)``: the distinct rows' features; per entity row the
        index of its row in ``table``, and whether it has none (``where`` is then 0).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    opened = _plain(files, fields)
    handles = opened or [pq.ParquetFile(f, pre_buffer=False) for f in files]
    offsets = np.zeros(len(handles) + 1, np.int64)
    np.cumsum([h.metadata.num_rows for h in handles], out=offsets[1:])
    values, missing = int64_values(ids)
    found = ~missing
    # Row ids as one dense number over all files: file offset + row number.
    dense = np.zeros(len(values), np.int64)
    dense[found] = offsets[values[found] >> _SHIFT] + (values[found] & ((1 << _SHIFT) - 1))
    total = int(offsets[-1])
    if lookup_fits(total, len(values)):
        # A lookup table over the source rows: linear, no sort.
        marked = np.zeros(total, bool)
        marked[dense[found]] = True
        wanted = np.flatnonzero(marked)
        lookup = np.zeros(total, np.int64)
        lookup[wanted] = np.arange(len(wanted))
        where = lookup[dense] if total else dense
    else:
        wanted = sorted_unique(dense[found])
        where = np.searchsorted(wanted, dense)
        where[missing] = 0
    if opened is None:
        file_of = np.searchsorted(offsets, wanted, side="right") - 1
        rids = (file_of << _SHIFT) + (wanted - offsets[file_of])
        return _gather_sql(files, fields, rids, connection()), where, missing
    columns: list[list[Any]] = [[] for _ in fields]
    bounds = np.searchsorted(wanted, offsets)
    for index, handle in enumerate(opened):
        rows = wanted[bounds[index] : bounds[index + 1]] - offsets[index]
        start = 0
        meta = handle.metadata
        for group in range(meta.num_row_groups):
            end = start + meta.row_group(group).num_rows
            a, b = np.searchsorted(rows, [start, end])
            if b > a:
                take = int64_array(rows[a:b] - start)
                for out, f in zip(columns, fields, strict=True):
                    chunk = handle.read_row_group(group, columns=[f.name], use_threads=False)
                    out.extend(chunk.column(0).take(take).chunks)
            start = end
    # One chunk per column: every slice's ``take`` then indexes it directly.
    arrays = [
        pa.concat_arrays(out) if out else pa.nulls(0, _arrow_type(f.dtype))
        for out, f in zip(columns, fields, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=[f.name for f in fields]), where, missing


def take_rows(table: pa.Table, where: np.ndarray, missing: np.ndarray) -> pa.Table:
    """``table``'s rows at ``where``, null where ``missing``.

    The take runs on indices without nulls (pyarrow's take is several times slower with
    null indices) and the nulls are laid over the result afterwards.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    count = len(where)
    if table.num_rows == 0:
        nulls = [pa.nulls(count, f.type) for f in table.schema]
        return pa.Table.from_arrays(nulls, names=table.column_names)
    taken = table.take(int64_array(where))
    if not missing.any():
        return taken
    validity = pa.py_buffer(np.packbits(~missing, bitorder="little"))
    valid = pa.Array.from_buffers(pa.bool_(), count, [None, validity])
    arrays = []
    for column in taken.columns:
        arr = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
        kind = arr.type
        if arr.null_count == 0 and pa.types.is_primitive(kind) and not pa.types.is_boolean(kind):
            arrays.append(pa.Array.from_buffers(kind, count, [validity, arr.buffers()[1]]))
        else:
            arrays.append(pc.if_else(valid, arr, pa.nulls(count, kind)))
    return pa.Table.from_arrays(arrays, names=taken.column_names)


def _gather_sql(
    files: Sequence[str], fields: Sequence[FieldSpec], ids: np.ndarray, con: Any
) -> pa.Table:
    import pyarrow as pa

    con.register("__ids", pa.Table.from_arrays([int64_array(ids)], names=[RID]))
    try:
        sql = (
            f"SELECT {', '.join(feature_columns(fields))} FROM (SELECT {ROW_ID} AS {RID}, * "
            f"FROM {parquet_clause(files)}) WHERE {RID} IN (SELECT {q(RID)} FROM __ids) "
            f"ORDER BY {RID}"
        )
        relation = con.sql(sql)
        fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
        table: pa.Table = fetch().combine_chunks()
    finally:
        con.unregister("__ids")
    return table
