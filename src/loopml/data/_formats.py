"""Tabular files: which paths are tables, and reading them with errors that name the file.

Bad input becomes :class:`~loopml.errors.InvalidInput` naming the file, and the line where
there is one (ragged CSV rows, bytes that are not UTF-8, JSON that does not parse).
"""

from __future__ import annotations

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
#: Arrow's CSV block size is an int32: one row (a single huge cell) may span at most this.
MAX_CSV_BLOCK = 2**31 - 1


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


def _read_csv(data: bytes, delimiter: str) -> pa.Table:
    """Parse CSV bytes; cells of any size and quoted newlines are read, not refused.

    Arrow splits the input into 1 MiB blocks parsed in parallel, which fails on a row
    longer than a block and on a newline inside quotes at a block edge. Such files are
    rare, so they are parsed again as one block that allows newlines in values, rather
    than every file paying for that slower mode.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        return pcsv.read_csv(
            pa.BufferReader(data), parse_options=pcsv.ParseOptions(delimiter=delimiter)
        )
    except pa.ArrowInvalid:
        pass
    return pcsv.read_csv(
        pa.BufferReader(data),
        read_options=pcsv.ReadOptions(block_size=min(len(data) + 1, MAX_CSV_BLOCK)),
        parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
    )


def _ragged_line(data: bytes, delimiter: str) -> tuple[int, int, int] | None:
    """(line, expected fields, found fields) of the first ragged row (error path only)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    bad: list[tuple[int, int, int]] = []

    def first(row: pcsv.InvalidRow) -> str:
        bad.append((row.number or 0, row.expected_columns, row.actual_columns))
        return "error"

    try:
        pcsv.read_csv(
            pa.BufferReader(data),
            read_options=pcsv.ReadOptions(
                use_threads=False, block_size=min(len(data) + 1, MAX_CSV_BLOCK)
            ),
            parse_options=pcsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=first
            ),
        )
    except pa.ArrowInvalid:
        pass
    if not bad:
        return None
    record, expected, found = bad[0]
    return _line_of_record(data, record), expected, found


def _line_of_record(data: bytes, record: int) -> int:
    """The file line where CSV record ``record`` starts (Arrow counts records, not lines).

    Records skip blank lines, and a quoted value may span lines: a line break lies inside
    quotes when the quotes before it are odd in number (an escaped quote is two).
    """
    seen, quoted = 0, False
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not quoted and line.strip(b"\r"):
            seen += 1
            if seen == record:
                return number
        if line.count(b'"') % 2:
            quoted = not quoted
    return record


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
            _utf8(data, label)
            return _read_csv(data, "\t" if fmt == "tsv" else ",")
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
        if "straddl" in text:  # a row longer than the largest block Arrow can take
            return _bad(
                label,
                f"a row is over {MAX_CSV_BLOCK:,} bytes, more than the CSV reader takes",
                "Store values this large as files of their own, or the table as Parquet.",
            )
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
