"""MLflow's signature and saved input example, read into loopml's forms."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput
from loopml.models import ColumnSpec, Signature

if TYPE_CHECKING:
    from pathlib import Path

# MLflow column types -> loopml signature dtypes (array/object/map types become "object").
_MLFLOW_TYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "string",
    "datetime": "datetime",
    "binary": "object",
}
# Tensor dtypes (numpy names) loopml signatures use as they are.
_TENSOR_DTYPES = frozenset(
    ("bool", "float16", "float32", "float64", "int8", "int16", "int32", "int64")
    + ("uint8", "uint16", "uint32", "uint64")
)


def _column(col: dict[str, Any]) -> ColumnSpec:
    kind = col.get("type")
    if kind == "tensor":
        info = col.get("tensor-spec") or {}
        dtype = str(info.get("dtype", "float64"))
        return ColumnSpec(
            dtype if dtype in _TENSOR_DTYPES else "object",
            name=col.get("name"),
            shape=tuple(int(s) for s in info.get("shape", [-1])),
        )
    dtype = _MLFLOW_TYPES.get(kind, "object") if isinstance(kind, str) else "object"
    return ColumnSpec(dtype, name=col.get("name"))


def _columns(text: Any, where: str) -> tuple[ColumnSpec, ...] | None:
    if not text:
        return None
    try:
        cols = json.loads(text) if isinstance(text, str) else text
        return tuple(_column(col) for col in cols)
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(
            f"{where}: the MLflow signature does not parse: {exc}",
            hint="Fix or remove the signature section of the MLmodel file.",
        ) from exc


def signature_from_mlmodel(spec: Any, where: str) -> Signature | None:
    """The loopml signature of an MLmodel ``signature`` section (None when it has no inputs).

    Args:
        spec: The section (``inputs``/``outputs`` as JSON text; ``params`` is dropped).
        where: The MLmodel file, for error messages.

    Raises:
        InvalidInput: The inputs or outputs are not the JSON MLflow writes.
    """
    if not isinstance(spec, dict):
        return None
    inputs = _columns(spec.get("inputs"), where)
    return None if inputs is None else Signature(inputs, _columns(spec.get("outputs"), where))


def _typed(frame: Any, signature: Signature | None) -> Any:
    if signature is None:
        return frame
    for spec in signature.inputs:
        if spec.name in frame.columns and spec.dtype not in ("string", "object", "datetime"):
            try:
                frame[spec.name] = frame[spec.name].astype(spec.dtype)
            except (TypeError, ValueError):
                continue  # keep the example as saved; the signature still says the type
    return frame


def example_from_mlmodel(root: Path, info: Any, signature: Signature | None) -> Any:
    """The input example MLflow saved (a DataFrame or an array), or None.

    Args:
        root: The MLflow model directory.
        info: The MLmodel ``saved_input_example_info`` section.
        signature: The signature, whose dtypes the example's columns are cast to.
    """
    if not isinstance(info, dict) or not info.get("artifact_path"):
        return None
    import numpy as np
    import pandas as pd

    path = root / str(info["artifact_path"])
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            f"{path}: the MLflow input example cannot be read: {exc}",
            hint="Restore the file, or remove saved_input_example_info from the MLmodel file.",
        ) from exc
    if info.get("type", "dataframe") == "dataframe":
        if isinstance(body, dict) and "columns" in body:
            frame = pd.DataFrame(body.get("data", []), columns=body["columns"])
        elif isinstance(body, list) and body and isinstance(body[0], dict):
            frame = pd.DataFrame(body)
        else:
            return None
        return _typed(frame, signature)
    if info.get("type") == "ndarray":
        data = body.get("inputs") if isinstance(body, dict) else body
        return None if isinstance(data, dict) or data is None else np.asarray(data)
    return None
