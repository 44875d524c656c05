"""Where a view's rows come from: dataset versions or files, read by DuckDB.

A dataset version is checked out once into the workspace cache (hard links from a local
artifact store cost no bytes) and read in place as Parquet/CSV; a view with a Python
transform is computed batch by batch into one cached Parquet file per (view version,
source contents). Everything the joins read is then a ``SELECT`` over files, so DuckDB
streams it within its memory limit.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput
from loopml.features._catalog import SQL_TYPES, load_callable

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from loopml.features._catalog import ViewSpec
    from loopml.workspace import Workspace

_TABLES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv"}
_REF = re.compile(r"^[A-Za-z0-9_.\-]+@[^/\\\s]+$")
#: Internal column names (never a feature name: those may not start with two underscores
#: followed by these words, and the join drops them).
EVENT, CREATED, KNOWN = "__event_us", "__created_us", "__known_us"


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """A quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def connect(workspace: Workspace | None = None, *, memory_limit: str | None = None) -> Any:
    """A DuckDB connection in UTC that spills to the workspace cache when memory is short."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    # Whole column chunks read ahead, or kept cached, only raise the peak for local files.
    con.execute("SET disable_parquet_prefetching = true")
    con.execute("SET enable_external_file_cache = false")
    if memory_limit:
        con.execute(f"SET memory_limit = {lit(memory_limit)}")
    if workspace is not None:
        spill = workspace.cache_dir / "features" / "spill"
        spill.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = {lit(str(spill))}")
    return con


class LazyConnection:
    """A DuckDB connection (``connect``) opened when first called for.

    ``close()`` ends it: DuckDB hands its buffers back then, so the join closes it as soon
    as its queries are done rather than keep them beside the result.
    """

    def __init__(self, workspace: Workspace | None, memory_limit: str | None = None) -> None:
        self._workspace = workspace
        self._memory_limit = memory_limit
        self._con: Any = None

    def __call__(self) -> Any:
        if self._con is None:
            self._con = connect(self._workspace, memory_limit=self._memory_limit)
        return self._con

    def close(self) -> None:
        """Close the connection if one is open (a later call opens a new one)."""
        if self._con is not None:
            self._con.close()
            self._con = None


def batches(relation: Any, rows: int) -> Any:
    """An Arrow record batch reader over a DuckDB relation (DuckDB 1.x and 2.x names)."""
    reader = getattr(relation, "to_arrow_reader", None)
    if reader is not None:
        return reader(rows)
    return relation.fetch_record_batch(rows)


def is_dataset_ref(text: str, base: Path) -> bool:
    """True when ``text`` names a dataset version (``NAME@REF``) rather than a file."""
    return bool(_REF.match(text)) and not (base / text).exists()


def resolve_source(text: str, base: Path, workspace: Workspace) -> dict[str, Any]:
    """The stored form of a source: a pinned dataset version, or absolute file patterns."""
    if is_dataset_ref(text, base):
        from loopml.data import repo_for

        version = repo_for(workspace).resolve(text)
        return {"kind": "dataset", "ref": text, "version_id": version.id}
    pattern = text if os.path.isabs(text) else str((base / text).resolve())
    return {"kind": "file", "paths": [pattern]}


def _files(source: Mapping[str, Any], workspace: Workspace) -> list[str]:
    if source["kind"] == "dataset":
        from loopml.data import repo_for

        root = workspace.cache_dir / "features" / "sources" / source["version_id"]
        if not (root / ".complete").exists():
            staging = root.with_name(root.name + f".tmp{os.getpid()}")
            shutil.rmtree(staging, ignore_errors=True)
            pinned = f"{source['ref'].partition('@')[0]}@{source['version_id']}"
            repo_for(workspace).checkout(pinned, staging)
            (staging / ".complete").touch()
            shutil.rmtree(root, ignore_errors=True)
            staging.rename(root)
        found = [str(p) for p in sorted(root.rglob("*")) if p.suffix.lower() in _TABLES]
    else:
        found = sorted(f for pattern in source["paths"] for f in glob.glob(pattern))
    tables = [f for f in found if Path(f).suffix.lower() in _TABLES]
    if not tables:
        shown = source.get("ref") or ", ".join(source.get("paths", []))
        raise InvalidInput(
            f"source {shown} holds no Parquet or CSV file",
            hint="Point the view at a dataset version or files ending .parquet or .csv.",
        )
    return tables


def from_clause(source: Mapping[str, Any], workspace: Workspace) -> str:
    """A DuckDB table function reading every table file of the source."""
    files = _files(source, workspace)
    kinds = {_TABLES[Path(f).suffix.lower()] for f in files}
    if len(kinds) > 1:
        raise InvalidInput(
            "a source mixes Parquet and CSV files", hint="Keep one format per view source."
        )
    listed = "[" + ", ".join(lit(f) for f in files) + "]"
    if kinds == {"parquet"}:
        return f"read_parquet({listed}, union_by_name = true)"
    return f"read_csv({listed}, union_by_name = true, auto_detect = true)"


def fingerprint(source: Mapping[str, Any], workspace: Workspace) -> str:
    """What the source holds now: the version id, or each file's size and mtime."""
    if source["kind"] == "dataset":
        return str(source["version_id"])
    parts = []
    for f in _files(source, workspace):
        stat = os.stat(f)
        parts.append(f"{f}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _transformed(view: ViewSpec, con: Any, workspace: Workspace) -> Path:
    """Apply the view's Python transform batch by batch into a cached Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    key = hashlib.sha256(f"{view.digest}\n{fingerprint(view.source, workspace)}".encode())
    out = workspace.cache_dir / "features" / "transformed" / f"{key.hexdigest()[:32]}.parquet"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fn = load_callable(str(view.transform))
    reader = batches(con.sql(f"SELECT * FROM {from_clause(view.source, workspace)}"), 100_000)
    staging = out.with_suffix(f".tmp{os.getpid()}")
    writer = None
    try:
        for batch in reader:
            frame = fn(batch.to_pandas())
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(staging, table.schema)
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise InvalidInput(f"view {view.name}: its source has no rows to transform")
    staging.replace(out)
    return out


def rows_clause(view: ViewSpec, con: Any, workspace: Workspace) -> str:
    """The FROM clause of the view's rows (transformed when it has a transform)."""
    if view.transform:
        return f"read_parquet({lit(str(_transformed(view, con, workspace)))})"
    return from_clause(view.source, workspace)


def _ts(column: str) -> str:
    return f"epoch_us(CAST({q(column)} AS TIMESTAMP))"


def view_select(view: ViewSpec, con: Any, workspace: Workspace, fields: Any = None) -> str:
    """SQL of the view's rows: typed keys, event/created microseconds, typed features."""
    chosen = view.features if fields is None else fields
    cols = [*time_columns(view), *feature_columns(chosen)]
    return f"SELECT {', '.join(cols)} FROM {rows_clause(view, con, workspace)}"


def time_columns(view: ViewSpec) -> list[str]:
    """Typed keys and the event/created microseconds, as select-list items."""
    cols = [f"CAST({q(k)} AS {SQL_TYPES[t]}) AS {q(k)}" for k, t in view.keys]
    cols.append(f"{_ts(view.event_timestamp)} AS {EVENT}")
    created = _ts(view.created_timestamp) if view.created_timestamp else "NULL::BIGINT"
    cols.append(f"{created} AS {CREATED}")
    return cols


def feature_columns(fields: Any) -> list[str]:
    """The typed features (their SQL expressions), as select-list items."""
    return [f"CAST(({f.expr or q(f.name)}) AS {SQL_TYPES[f.dtype]}) AS {q(f.name)}" for f in fields]


def parquet_files(view: ViewSpec, connection: Callable[[], Any], workspace: Workspace) -> list[str]:
    """The Parquet files holding the view's rows, so every read has stable row ids
    (``ROW_ID``): its own files, its cached transform output, or a cached copy of CSV
    (``connection`` gives a DuckDB connection, asked for only to make those copies)."""
    if view.transform:
        return [str(_transformed(view, connection(), workspace))]
    files = _files(view.source, workspace)
    if all(_TABLES[Path(f).suffix.lower()] == "parquet" for f in files):
        return files
    clause = from_clause(view.source, workspace)
    key = hashlib.sha256(f"csv\n{fingerprint(view.source, workspace)}".encode()).hexdigest()
    out = workspace.cache_dir / "features" / "csv" / f"{key[:32]}.parquet"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = out.with_suffix(f".tmp{os.getpid()}")
        copy = f"COPY (SELECT * FROM {clause}) TO {lit(str(staging))} (FORMAT parquet)"
        connection().execute(copy)
        staging.replace(out)
    return [str(out)]


def parquet_clause(files: Sequence[str]) -> str:
    """A DuckDB table function reading ``files`` (Parquet) by column name."""
    return f"read_parquet([{', '.join(lit(f) for f in files)}], union_by_name = true)"


#: A source row's identity in a ``read_parquet`` scan: file index and row number.
ROW_ID = "(file_index::BIGINT << 40) + file_row_number"
