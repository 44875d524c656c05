"""Tabular files: which paths are tables, and reading them with errors that name the file.

Bad input becomes :class:`~loopml.errors.InvalidInput` naming the file, and the line where
there is one (ragged CSV rows, bytes that are not UTF-8, JSON that does not parse).
"""

from __future__ import annotations

import csv
import io
import re
from typing import TYPE_CHECKING

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa

#: File suffix -> table format.
FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_ROW = re.compile(r"row (\d+)", re.IGNORECASE)


def table_format(path: str) -> str | None:
    """The table format of ``path`` by its suffix, or None for other files."""
    dot = path.rfind(".")
    return FORMATS.get(path[dot:].lower()) if dot >= 0 else None


def _bad(label: str, what: str, hint: str, line: int | None = None) -> InvalidInput:
    where = f"{label}, line {line}" if line is not None else label
    return InvalidInput(f"{where}: {what}", hint=hint, path=label, line=line)


def _utf8(data: bytes, label: str) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _bad(
            label,
            f"bytes that are not UTF-8 (0x{data[exc.start]:02x} at byte {exc.start})",
            "Re-encode the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`.",
            line,
        ) from exc


def _ragged_line(data: bytes, delimiter: str) -> tuple[int, int, int] | None:
    """(line, expected fields, found fields) of the first ragged row (error path only)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8")), delimiter=delimiter)
    expected = None
    for row in reader:
        if expected is None:
            expected = len(row)
        elif row and len(row) != expected:
            return reader.line_num, expected, len(row)
    return None


def read_table(data: bytes, fmt: str, label: str) -> pa.Table:
    """Parse the bytes of a table file.

    Args:
        data: The file's bytes.
        fmt: ``"parquet"``, ``"csv"``, ``"tsv"`` or ``"jsonl"``.
        label: The file's name, for messages.

    Raises:
        InvalidInput: The file is empty, truncated, ragged, not UTF-8 or does not parse.
    """
    if not data:
        raise _bad(label, "the file is empty", "Remove it or give it content (a header row).")
    import pyarrow as pa  # here, not at the top: committing plain files needs no pyarrow

    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.read_table(pa.BufferReader(data))
        if fmt in ("csv", "tsv"):
            import pyarrow.csv as pcsv

            _utf8(data, label)
            delimiter = "\t" if fmt == "tsv" else ","
            return pcsv.read_csv(
                pa.BufferReader(data), parse_options=pcsv.ParseOptions(delimiter=delimiter)
            )
        if fmt == "jsonl":
            import pyarrow.json as pjson

            _utf8(data, label)
            return pjson.read_json(pa.BufferReader(data))
    except pa.ArrowInvalid as exc:
        raise _translate(exc, data, fmt, label) from exc
    raise InvalidInput(f"{label}: unknown table format {fmt!r}", hint="Use parquet, csv or jsonl.")


def _translate(exc: pa.ArrowInvalid, data: bytes, fmt: str, label: str) -> InvalidInput:
    text = str(exc)
    if fmt == "parquet":
        return _bad(
            label,
            "not a readable Parquet file (truncated or corrupted: " + text.split(": ", 1)[-1] + ")",
            "Re-export the file; a copy that stopped early lacks the Parquet footer.",
        )
    if fmt in ("csv", "tsv"):
        ragged = _ragged_line(data, "\t" if fmt == "tsv" else ",")
        if ragged is not None:
            line, expected, found = ragged
            return _bad(
                label,
                f"ragged row: expected {expected} fields (as in the header), found {found}",
                "Fix the row, or quote fields that contain the delimiter.",
                line,
            )
        return _bad(label, f"not a readable CSV file ({text})", "Check the file's format.")
    match = _ROW.search(text)
    row = int(match.group(1)) + 1 if match else None  # Arrow counts rows from 0
    return _bad(label, f"not valid JSON Lines ({text})", "Each line must be one JSON object.", row)


def write_table(table: pa.Table, fmt: str) -> bytes:
    """Serialise a table in ``fmt`` (used to store a redacted copy in the same format)."""
    sink = io.BytesIO()
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, sink)
    elif fmt in ("csv", "tsv"):
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, sink, pcsv.WriteOptions(delimiter="\t" if fmt == "tsv" else ","))
    else:
        for batch in _json_lines(table):
            sink.write(batch)
    return sink.getvalue()


def _json_lines(table: pa.Table) -> Iterator[bytes]:
    frame = table.to_pandas()
    yield frame.to_json(orient="records", lines=True, date_format="iso").encode()
