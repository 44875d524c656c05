"""MLflow's scoring format (``POST /invocations``), parsed straight to column arrays.

JSON bodies hold exactly one of ``dataframe_split``, ``dataframe_records``, ``instances``
or ``inputs`` (and optionally ``params``, which loopml models do not take); ``text/csv``
bodies are a header row and one row per prediction.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np

from loopml.serving._validate import Columns, RequestError, Schema

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_HINT = (
    'Send {"dataframe_split": {"columns": [...], "data": [[...]]}}, '
    '{"dataframe_records": [{...}]}, {"instances": [...]} or {"inputs": ...}.'
)


def parse_json(payload: Any, schema: Schema) -> Columns:
    """Columns from an MLflow JSON scoring body."""
    if not isinstance(payload, dict):
        raise RequestError(
            f"the body must be a JSON object; got {type(payload).__name__}",
            status=400,
            code="bad_body",
            field="body",
            hint=_HINT,
        )
    given = [k for k in FORMATS if k in payload]
    unknown = [k for k in payload if k not in FORMATS and k != "params"]
    if unknown:
        raise RequestError(
            f"unknown key {unknown[0]!r} in the body",
            status=400,
            code="bad_body",
            field=str(unknown[0]),
            hint=_HINT,
        )
    if len(given) != 1:
        raise RequestError(
            "the body must hold exactly one of "
            + ", ".join(FORMATS)
            + (f"; got {', '.join(given)}" if given else ""),
            status=400,
            code="bad_body",
            field=given[1] if len(given) > 1 else "body",
            hint=_HINT,
        )
    key = given[0]
    value = payload[key]
    if key == "dataframe_split":
        return _split(value, schema)
    if key == "dataframe_records":
        return _records(value, schema, key)
    return _instances(value, schema, key)


def _split(value: Any, schema: Schema) -> Columns:
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise RequestError(
            "dataframe_split must be an object with 'columns' and 'data' (a list of rows)",
            status=400,
            code="bad_body",
            field="dataframe_split",
        )
    data = value["data"]
    columns = value.get("columns")
    if schema.is_tensor and columns is None:
        return schema.coerce_tensor(data, name="dataframe_split.data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise RequestError(
            "dataframe_split.columns must be a list of column names",
            status=400,
            code="bad_body",
            field="dataframe_split.columns",
        )
    width = len(columns)
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != width:
            raise RequestError(
                f"dataframe_split.data[{i}] must be a list of {width} values, one per column",
                code="wrong_shape",
                field=f"dataframe_split.data[{i}]",
            )
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise RequestError(
            f"column {dupes[0]!r} is given twice", status=400, code="bad_body", field=dupes[0]
        )
    schema.check_names(columns)
    if not data:
        raise RequestError("the request has no rows", code="no_rows", field="dataframe_split")
    transposed = list(zip(*data, strict=True))
    return schema.coerce({c: list(transposed[i]) for i, c in enumerate(columns)})


def _records(value: Any, schema: Schema, key: str) -> Columns:
    if not isinstance(value, list) or not value:
        raise RequestError(
            f"{key} must be a non-empty list of records", status=400, code="bad_body", field=key
        )
    names: dict[str, None] = {}
    for i, record in enumerate(value):
        if not isinstance(record, dict):
            raise RequestError(
                f"{key}[{i}] must be an object of column: value",
                status=400,
                code="bad_body",
                field=f"{key}[{i}]",
            )
        names.update(dict.fromkeys(record))
    schema.check_names(list(names))
    return schema.coerce({c: [r.get(c) for r in value] for c in schema.columns})


def _instances(value: Any, schema: Schema, key: str) -> Columns:
    if schema.is_tensor:
        return schema.coerce_tensor(value, name=key)
    if isinstance(value, dict):
        return schema.coerce(value)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return _records(value, schema, key)
    if isinstance(value, list) and value:
        return schema.from_matrix(value, field=key)
    raise RequestError(
        f"{key} must be a list of records, a list of rows or an object of columns",
        status=400,
        code="bad_body",
        field=key,
    )


def parse_csv(body: bytes, schema: Schema) -> Columns:
    """Columns from a CSV body with a header row (empty cells are missing values)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RequestError(
            "the CSV body is not UTF-8 text", status=400, code="bad_body", field="body"
        ) from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise RequestError(
            f"the CSV body does not parse: {exc}", status=400, code="bad_body", field="body"
        ) from None
    rows = [r for r in rows if r]
    if not rows:
        raise RequestError("the CSV body is empty", status=400, code="empty_body", field="body")
    header = [h.strip() for h in rows[0]]
    if schema.is_tensor:
        return schema.coerce_tensor(np.array(rows, dtype=object), name="body")
    for i, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise RequestError(
                f"CSV line {i + 1} has {len(row)} cells; the header has {len(header)}",
                code="wrong_shape",
                field=f"line {i + 1}",
            )
    schema.check_names(header)
    if len(rows) == 1:
        raise RequestError("the CSV body has no rows", code="no_rows", field="body")
    cells = list(zip(*rows[1:], strict=True))
    return schema.coerce(
        {c: [v if v != "" else None for v in cells[i]] for i, c in enumerate(header)}
    )


def predictions(outputs: dict[str, np.ndarray], name: str) -> list[Any]:
    """The ``predictions`` list MLflow's scoring server answers."""
    values = outputs[name] if name in outputs else next(iter(outputs.values()))
    result: list[Any] = values.tolist()
    return result
