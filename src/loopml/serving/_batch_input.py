"""Batch-scoring input: find the files, check them against the model, stream fixed chunks.

An input is a Parquet or CSV file, a folder of them, or a dataset version (``NAME@REF``,
checked out by hard links into the workspace cache). Every file's schema is read up front
(Parquet footers, the first CSV block) and checked against the model's signature before
anything is scored. Chunks are exact runs of ``chunk_rows`` rows per file, so a re-run cuts
the same chunks and can skip the finished ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput, NotFound
from loopml.ids import ObjectKind, ObjectRef

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa

    from loopml.models import Signature
    from loopml.workspace import Workspace

TABLE_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
_NUMERIC = ("float16", "float32", "float64")
_INTEGER = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


@dataclass(frozen=True)
class InputFile:
    """One table file of the input: its path, format and (Arrow) schema."""

    path: Path
    format: str
    schema: pa.Schema
    rows: int | None  # known for Parquet (footer), None for CSV


@dataclass(frozen=True)
class BatchInput:
    """The resolved input of a batch job.

    Attributes:
        spec: What the caller passed (path or ``NAME@REF``).
        files: The table files, in scoring order.
        fingerprint: sha256 identifying the input (the dataset version id, or every file's
            relative path, size and modification time).
        dataset_version: The dataset version read, for lineage.
    """

    spec: str
    files: tuple[InputFile, ...]
    fingerprint: str
    dataset_version: ObjectRef | None = None
    columns: tuple[str, ...] = field(default=())

    @property
    def rows(self) -> int | None:
        """Total rows when every file's count is known (Parquet), else None."""
        counts = [f.rows for f in self.files]
        return None if any(c is None for c in counts) else sum(c or 0 for c in counts)


def _table_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES and not p.name.startswith(".")
    )


def _fingerprint(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256(b"loopml.batch.files/1")
    for path in files:
        st = path.stat()
        rel = path.name if path == root else path.relative_to(root).as_posix()
        digest.update(json.dumps([rel, st.st_size, st.st_mtime_ns]).encode())
    return digest.hexdigest()


def _checkout_version(spec: str, workspace: Workspace) -> tuple[Path, ObjectRef, str]:
    """Hard-link a dataset version's files into the workspace cache (once per version)."""
    import loopml.data

    repo = loopml.data.repo_for(workspace)
    try:
        version = repo.resolve(spec)
    except (NotFound, InvalidInput) as exc:
        raise InvalidInput(
            f"batch input {spec!r} is no file, folder or dataset version",
            hint="Pass a .parquet or .csv file, a folder of them, or NAME@REF of a dataset "
            f"version ({exc.message}).",
            input=spec,
        ) from exc
    target = workspace.cache_dir / "batch-inputs" / version.id
    if not target.is_dir():
        staging = target.with_name(f".{version.id}.{os.getpid()}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        repo.checkout(spec, staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(staging, target)
        except OSError:  # another process placed it first
            shutil.rmtree(staging, ignore_errors=True)
    ref = ObjectRef(ObjectKind.DATASET_VERSION, version.id)
    return target, ref, f"dataset_version:{version.id}"


def _schema(path: Path, fmt: str) -> tuple[pa.Schema, int | None]:
    import pyarrow as pa

    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            meta = pq.read_metadata(path)
            return meta.schema.to_arrow_schema(), meta.num_rows
        import pyarrow.csv as pcsv

        reader = pcsv.open_csv(path)
        schema = reader.schema
        reader.close()
        return schema, None
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(
            f"cannot read batch input {path}: {exc}",
            hint="Pass Parquet or CSV (with a header row) files.",
            path=str(path),
        ) from exc


def open_input(spec: str | os.PathLike[str], workspace: Workspace) -> BatchInput:
    """Resolve ``spec`` to its table files and read their schemas (no rows are read).

    Raises:
        InvalidInput: Nothing of that name, an empty folder, or an unreadable file.
    """
    text = os.fspath(spec)
    path = Path(text)
    dataset: ObjectRef | None = None
    if path.exists():
        root = path
        fingerprint_of: str | None = None
    else:
        root, dataset, fingerprint_of = _checkout_version(text, workspace)
    if root.is_dir():
        files = _table_files(root)
        if not files:
            raise InvalidInput(
                f"batch input {text!r} holds no .parquet or .csv file",
                hint="Point --input at a table file or a folder of them.",
                input=text,
            )
    else:
        if root.suffix.lower() not in TABLE_SUFFIXES:
            raise InvalidInput(
                f"batch input {text!r} is not a .parquet or .csv file",
                hint="Convert it to Parquet or CSV, or pass a folder of such files.",
                input=text,
            )
        files = [root]
    found = []
    for item in files:
        fmt = TABLE_SUFFIXES[item.suffix.lower()]
        schema, rows = _schema(item, fmt)
        found.append(InputFile(item, fmt, schema, rows))
    if fingerprint_of is None:
        fingerprint = _fingerprint(root, files)
    else:
        fingerprint = hashlib.sha256(fingerprint_of.encode()).hexdigest()
    return BatchInput(text, tuple(found), fingerprint, dataset, tuple(found[0].schema.names))


# -- the signature check -------------------------------------------------------------------


def _accepts(dtype: str, arrow_type: pa.DataType, *, csv: bool) -> bool:
    import pyarrow.types as t

    if t.is_null(arrow_type) or dtype == "object":
        return True
    if dtype in _NUMERIC:
        return bool(
            t.is_integer(arrow_type) or t.is_floating(arrow_type) or t.is_decimal(arrow_type)
        )
    if dtype in _INTEGER:
        return bool(t.is_integer(arrow_type))
    if dtype == "bool":
        return bool(t.is_boolean(arrow_type))
    if dtype == "string":
        if csv:  # CSV has no types: the column is read as text
            return True
        if t.is_dictionary(arrow_type):
            arrow_type = arrow_type.value_type
        return bool(t.is_string(arrow_type) or t.is_large_string(arrow_type))
    if dtype == "datetime":
        return bool(t.is_timestamp(arrow_type) or t.is_date(arrow_type))
    return True


def check_signature(batch_input: BatchInput, signature: Signature | None) -> None:
    """Refuse input the model cannot take: missing columns, incompatible types.

    Every file is checked and every offending column named in one error.

    Raises:
        InvalidInput: With ``columns`` (the offending names) and ``problems`` fields.
    """
    if signature is None:
        return
    problems: list[str] = []
    columns: list[str] = []
    named = [c for c in signature.inputs if c.name is not None]
    for item in batch_input.files:
        where = item.path.name
        if not named:  # a tensor: every column of the file, in order
            shape = signature.inputs[0].shape or ()
            want = shape[1] if len(shape) == 2 and shape[1] > 0 else None
            if want is not None and len(item.schema) != want:
                problems.append(f"{where}: {len(item.schema)} columns, the model takes {want}")
            continue
        for spec in named:
            assert spec.name is not None
            if spec.name not in item.schema.names:
                problems.append(f"{where}: column {spec.name!r} ({spec.dtype}) is missing")
                columns.append(spec.name)
                continue
            arrow_type = item.schema.field(spec.name).type
            if not _accepts(spec.dtype, arrow_type, csv=item.format == "csv"):
                problems.append(
                    f"{where}: column {spec.name!r} is {arrow_type}, the model takes {spec.dtype}"
                )
                columns.append(spec.name)
    if problems:
        names = list(dict.fromkeys(columns))
        head = f"column(s) {', '.join(names)}" if names else "the columns"
        raise InvalidInput(
            f"batch input {batch_input.spec!r} does not fit the model's signature: {head} "
            f"({'; '.join(problems[:5])}{' ...' if len(problems) > 5 else ''})",
            hint="The model takes: "
            + ", ".join(f"{c.name or 'tensor'} {c.dtype}" for c in signature.inputs)
            + ". Nothing was scored.",
            columns=names,
            problems=problems,
        )


def feature_columns(signature: Signature | None, schema: pa.Schema) -> list[str]:
    """The columns the model reads, in the order it takes them."""
    if signature is not None and signature.columns:
        return list(signature.columns)
    return list(schema.names)


def csv_types(signature: Signature | None) -> dict[str, Any]:
    """Arrow types to read the signature's columns of a CSV as (text stays text)."""
    import pyarrow as pa

    if signature is None:
        return {}
    fixed = {"string": pa.string(), "bool": pa.bool_()}
    out: dict[str, Any] = {}
    for spec in signature.inputs:
        if spec.name is None:
            continue
        if spec.dtype in fixed:
            out[spec.name] = fixed[spec.dtype]
        elif spec.dtype in _NUMERIC or spec.dtype in _INTEGER:
            out[spec.name] = pa.from_numpy_dtype(spec.dtype)
    return out


# -- streaming chunks ----------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """``rows`` consecutive rows of one input file; ``key`` names it in the journal."""

    key: str
    file: int
    index: int
    table: pa.Table

    @property
    def rows(self) -> int:
        """Number of rows."""
        return int(self.table.num_rows)


def chunk_key(file: int, index: int) -> str:
    """Journal name of chunk ``index`` of file ``file``."""
    return f"f{file:05d}-c{index:07d}"


def _parquet_batches(item: InputFile, skip_to: int) -> Iterator[tuple[int, pa.RecordBatch]]:
    import pyarrow.parquet as pq

    # One row group at a time, without pre-buffering: a reader asked for many row groups
    # caches their column chunks until it is done, which grows with the file.
    pf = pq.ParquetFile(item.path, pre_buffer=False)
    try:
        offset = 0
        for g in range(pf.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            if offset + n <= skip_to:  # every chunk of this row group is finished
                offset += n
                continue
            for batch in pf.iter_batches(batch_size=65_536, row_groups=[g]):
                yield offset, batch
                offset += batch.num_rows
    finally:
        pf.close()


def _csv_batches(item: InputFile, types: dict[str, Any]) -> Iterator[tuple[int, pa.RecordBatch]]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    present = {k: v for k, v in types.items() if k in item.schema.names}
    reader = pcsv.open_csv(item.path, convert_options=pcsv.ConvertOptions(column_types=present))
    offset = 0
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise InvalidInput(
                    f"cannot read {item.path} after row {offset:,}: {exc}",
                    hint="Fix the value (the chunks scored so far are kept; re-run the same "
                    "command to resume).",
                    path=str(item.path),
                ) from exc
            yield offset, batch
            offset += batch.num_rows
    finally:
        reader.close()


def iter_chunks(
    batch_input: BatchInput,
    chunk_rows: int,
    *,
    done: set[str],
    types: dict[str, Any],
) -> Iterator[Chunk]:
    """Every chunk not in ``done``, file by file, each exactly ``chunk_rows`` rows (the last
    of a file fewer). Parquet skips the row groups of a finished prefix unread."""
    import pyarrow as pa

    for f, item in enumerate(batch_input.files):
        index = 0
        if item.format == "parquet":
            while chunk_key(f, index) in done:
                index += 1
            source = _parquet_batches(item, index * chunk_rows)
        else:
            source = _csv_batches(item, types)
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        start = index * chunk_rows
        for offset, batch in source:
            if offset + batch.num_rows <= start:
                continue
            if offset < start:
                batch = batch.slice(start - offset)
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= chunk_rows:
                table = pa.Table.from_batches(pending)
                head, rest = table.slice(0, chunk_rows), table.slice(chunk_rows)
                if chunk_key(f, index) not in done:
                    yield Chunk(chunk_key(f, index), f, index, head.combine_chunks())
                index += 1
                pending = rest.to_batches()
                pending_rows = rest.num_rows
        if pending_rows and chunk_key(f, index) not in done:
            table = pa.Table.from_batches(pending)
            yield Chunk(chunk_key(f, index), f, index, table.combine_chunks())
