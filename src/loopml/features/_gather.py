"""Read the feature columns of chosen source rows (by row id) from a view's Parquet files.

A row id is ``file index << 40 | row number`` (``ROW_ID`` in DuckDB). When every feature
is a plain column already of its declared type, the rows are taken with pyarrow one
column chunk at a time, skipping row groups that hold none of them: memory stays at one
column chunk, whatever the width of the view. Otherwise (SQL expressions, casts, a column
missing from a file) DuckDB computes the typed features over the chosen rows.
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

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
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
    ids: np.ndarray,
    connection: Callable[[], Any],
) -> pa.Table:
    """The typed ``fields`` of the rows ``ids`` (sorted, unique), in that order
    (``connection``: gives the DuckDB connection, opened only when it is needed)."""
    import numpy as np
    import pyarrow as pa

    opened = _plain(files, fields)
    if opened is None:
        return _gather_sql(files, fields, ids, connection())
    columns: list[list[Any]] = [[] for _ in fields]
    file_of = ids >> _SHIFT
    for index, handle in enumerate(opened):
        lo, hi = np.searchsorted(file_of, [index, index + 1])
        rows = ids[lo:hi] - (index << _SHIFT)
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
    arrays = [
        pa.chunked_array(out, type=_arrow_type(f.dtype))
        for out, f in zip(columns, fields, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=[f.name for f in fields])


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
        table: pa.Table = fetch()
    finally:
        con.unregister("__ids")
    return table
