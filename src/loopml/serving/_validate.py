"""Request validation: values from JSON/CSV coerced to the signature's column arrays.

Every failure is a :class:`RequestError` carrying the HTTP status (400 malformed body,
413 too large, 415 wrong content type, 422 does not fit the signature) and the field it
is about, so the answer names what was wrong; nothing here lets a 500 through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Sequence

    from loopml.models import Signature

Columns = dict[str, np.ndarray]

#: Signature dtype -> numpy dtype.
NUMPY: dict[str, Any] = {
    "bool": np.bool_,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "uint32": np.uint32,
    "uint64": np.uint64,
    "float16": np.float16,
    "float32": np.float32,
    "float64": np.float64,
    "string": object,
    "object": object,
    "datetime": "datetime64[ns]",
}

#: Open Inference Protocol datatype -> numpy dtype.
OIP_NUMPY: dict[str, Any] = {
    "BOOL": np.bool_,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": object,
}

_SIG_TO_OIP = {
    **{name: name.upper().replace("FLOAT", "FP") for name in NUMPY if name[0] in "iuf"},
    "bool": "BOOL",
    "string": "BYTES",
    "object": "BYTES",
    "datetime": "BYTES",
}


class RequestError(InvalidInput):
    """A request the server refuses, with the HTTP status and the field at fault.

    Args:
        message: What was wrong, naming the field and what was received.
        status: 400, 404, 413, 415 or 422.
        code: A short machine-readable kind (``missing_column``, ``wrong_type``...).
        field: The offending column, tensor, header or key.
        hint: What is accepted.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 422,
        code: str = "invalid_input",
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, status=status, code=code, field=field)
        self.status = status
        self.code = code
        self.field = field


def oip_datatype(dtype: Any) -> str:
    """The OIP datatype of a signature dtype name or numpy dtype."""
    if isinstance(dtype, str) and dtype in _SIG_TO_OIP:
        return _SIG_TO_OIP[dtype]
    kind = np.dtype(dtype)
    if kind.kind in "iuf" or kind == np.bool_:
        return _SIG_TO_OIP["bool" if kind == np.bool_ else kind.name]
    return "BYTES"


@dataclass(frozen=True)
class Schema:
    """The inputs a model accepts, read from its signature.

    Attributes:
        columns: Column names in signature order (empty for a tensor model).
        dtypes: Signature dtype of each column.
        tensor_dtype: For a tensor signature, its dtype (else None).
        tensor_shape: For a tensor signature, its shape with -1 for the batch.
    """

    columns: tuple[str, ...]
    dtypes: dict[str, str]
    tensor_dtype: str | None = None
    tensor_shape: tuple[int, ...] | None = None

    @classmethod
    def from_signature(cls, signature: Signature | None) -> Schema:
        """Read a model signature (no signature: one float64 tensor of any shape)."""
        if signature is None or not signature.columns:
            spec = signature.inputs[0] if signature is not None and signature.inputs else None
            dtype = spec.dtype if spec is not None else "float64"
            shape = spec.shape if spec is not None and spec.shape else (-1, -1)
            return cls(columns=(), dtypes={}, tensor_dtype=dtype, tensor_shape=shape)
        names = tuple(str(c.name) for c in signature.inputs)
        return cls(columns=names, dtypes={str(c.name): c.dtype for c in signature.inputs})

    @property
    def is_tensor(self) -> bool:
        """Whether the model takes one unnamed tensor instead of named columns."""
        return not self.columns

    @property
    def numeric(self) -> bool:
        """Whether every input column is a number or a boolean."""
        return all(self.dtypes[c][0] in "ifub" for c in self.columns)

    def matrix(self, columns: Columns) -> np.ndarray:
        """The validated inputs as one 2-D array: the tensor, or the columns side by side."""
        if self.is_tensor:
            return np.asarray(columns["input"])
        return np.column_stack([columns[c] for c in self.columns])

    def finite_matrix(self, columns: Columns, width: int, dtype: Any) -> np.ndarray | None:
        """:meth:`matrix` as ``dtype``, or None unless it is numeric, ``width`` wide and
        free of NaN and infinity (what a model's own input check would refuse or treat
        specially: the caller then takes the model's own path)."""
        source = self.matrix(columns)
        if source.dtype.kind not in "ifub" or source.ndim != 2 or source.shape[1] != width:
            return None
        out = np.ascontiguousarray(source, dtype=dtype)
        return out if np.isfinite(out).all() else None

    def check_names(self, given: Sequence[str], *, what: str = "column") -> None:
        """Refuse a set of names with a missing or an extra column (422)."""
        known = set(self.columns)
        extra = [n for n in given if n not in known]
        if extra:
            raise RequestError(
                f"unknown {what}(s) {', '.join(map(repr, extra))}: the model's signature has "
                "no such column",
                code="extra_column",
                field=str(extra[0]),
                hint=f"The model takes: {', '.join(self.columns)}.",
            )
        have = set(given)
        missing = [c for c in self.columns if c not in have]
        if missing:
            raise RequestError(
                f"missing {what}(s) {', '.join(map(repr, missing))} required by the model's "
                "signature",
                code="missing_column",
                field=missing[0],
                hint=f"The model takes: {', '.join(self.columns)}.",
            )

    def coerce(self, values: dict[str, Any]) -> Columns:
        """Columns from name -> values (lists or arrays), in signature order, all one length."""
        self.check_names(list(values))
        out = {c: coerce_column(c, values[c], self.dtypes[c]) for c in self.columns}
        lengths = {len(v) for v in out.values()}
        if len(lengths) > 1:
            sizes = ", ".join(f"{c}={len(v)}" for c, v in out.items())
            raise RequestError(
                f"columns have different numbers of rows ({sizes})",
                code="wrong_shape",
                field=next(c for c, v in out.items() if len(v) != len(out[self.columns[0]])),
                hint="Send one value per row for every column.",
            )
        if not lengths or lengths == {0}:
            raise RequestError("the request has no rows", code="no_rows", field=self.columns[0])
        return out

    def coerce_tensor(self, array: Any, *, name: str = "input") -> Columns:
        """The one input of a tensor model, its shape checked against the signature."""
        arr = _asarray(name, array)
        expected = self.tensor_shape or (-1,)
        if arr.ndim != len(expected) or any(
            want not in (-1, got) for want, got in zip(expected, arr.shape, strict=False)
        ):
            raise RequestError(
                f"tensor {name!r} has shape {list(arr.shape)}; the model takes "
                f"{list(expected)} (-1: any size)",
                code="wrong_shape",
                field=name,
            )
        if arr.shape[0] == 0:
            raise RequestError("the request has no rows", code="no_rows", field=name)
        flat = _cast(name, arr.reshape(-1), self.tensor_dtype or "float64")
        return {"input": flat.reshape(arr.shape)}

    def from_matrix(self, array: Any, *, field: str) -> Columns:
        """Columns from a 2-D array with one column per signature column, in order."""
        arr = _asarray(field, array)
        if arr.ndim == 1 and len(self.columns) == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2 or arr.shape[1] != len(self.columns):
            raise RequestError(
                f"{field} has shape {list(arr.shape)}; the model takes rows of "
                f"{len(self.columns)} values ({', '.join(self.columns)})",
                code="wrong_shape",
                field=field,
                hint="Send [rows, columns] in signature order, or one input per column.",
            )
        return self.coerce({c: arr[:, i] for i, c in enumerate(self.columns)})


def _asarray(field: str, values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values
    try:
        return np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise RequestError(
            f"{field!r} is ragged: rows of different lengths ({exc})",
            code="wrong_shape",
            field=field,
        ) from None


def coerce_column(name: str, values: Any, dtype: str) -> np.ndarray:
    """One column as a 1-D array of the signature dtype; RequestError naming ``name``."""
    if not isinstance(values, (list, tuple, np.ndarray)):
        values = [values]
    arr = _asarray(name, values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise RequestError(
            f"column {name!r} must hold one value per row; got shape {list(arr.shape)}",
            code="wrong_shape",
            field=name,
            hint="Send a flat list of values, or shape [n] / [n, 1].",
        )
    return _cast(name, arr, dtype)


def _first_bad(values: np.ndarray, ok: Any) -> tuple[int, Any]:
    for i, value in enumerate(values.tolist()):
        if not ok(value):
            return i, value
    return 0, values[0] if len(values) else None


def _is_number(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def _wrong(name: str, dtype: str, row: int, value: Any, what: str) -> RequestError:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return RequestError(
        f"column {name!r} expects {what} ({dtype}); row {row} holds {shown}",
        code="wrong_type",
        field=name,
        hint=f"Send {what} for {name!r}.",
    )


def _cast(name: str, arr: np.ndarray, dtype: str) -> np.ndarray:
    kind = arr.dtype.kind
    if dtype.startswith("float"):
        if kind in "fiub":
            return arr.astype(NUMPY[dtype], copy=False)
        try:
            return np.array(arr.tolist(), dtype=NUMPY[dtype])
        except (ValueError, TypeError, OverflowError):
            row, value = _first_bad(arr, _is_number)
            raise _wrong(name, dtype, row, value, "numbers") from None
    if dtype[0] in "iu":
        if kind in "iub":
            as_int = arr
        else:
            floats = _cast(name, arr, "float64")
            whole = np.isfinite(floats) & (floats == np.floor(floats))
            if not whole.all():
                row = int(np.argmin(whole))
                raise _wrong(name, dtype, row, arr.tolist()[row], "whole numbers")
            as_int = floats
        info = np.iinfo(NUMPY[dtype])
        if len(as_int) and (as_int.min() < info.min or as_int.max() > info.max):
            row = int(np.argmax((as_int < info.min) | (as_int > info.max)))
            raise _wrong(name, dtype, row, arr.tolist()[row], f"{dtype} values")
        return as_int.astype(NUMPY[dtype], copy=False)
    if dtype == "bool":
        if kind == "b":
            return arr
        if kind in "iuf" and np.isin(arr, (0, 1)).all():
            return arr.astype(bool)
        if kind in "UO":
            text = [str(v).strip().lower() if v is not None else "" for v in arr.tolist()]
            if all(t in ("true", "false", "1", "0") for t in text):
                return np.array([t in ("true", "1") for t in text], dtype=bool)
        row, value = _first_bad(arr, lambda v: isinstance(v, bool))
        raise _wrong(name, dtype, row, value, "true/false")
    if dtype == "datetime":
        import pandas as pd

        try:
            return np.asarray(pd.to_datetime(list(arr.tolist()), format="ISO8601"))
        except (ValueError, TypeError):
            row, value = _first_bad(arr, lambda v: isinstance(v, str))
            raise _wrong(name, dtype, row, value, "ISO 8601 timestamps") from None
    # string / object columns
    if kind == "U":
        return arr.astype(object)
    if kind == "O" and all(v is None or isinstance(v, str) for v in arr.tolist()):
        return arr
    if dtype == "object":
        return arr.astype(object)
    row, value = _first_bad(arr, lambda v: v is None or isinstance(v, str))
    raise _wrong(name, dtype, row, value, "text")
