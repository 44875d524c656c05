"""Model signatures: input columns (or tensors) with dtypes and shapes, and the output."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from loopml.errors import InvalidInput

#: dtype names a signature may use.
DTYPES = frozenset(
    {
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "string",
        "datetime",
        "object",
    }
)


def dtype_name(dtype: Any) -> str:
    """Normalise a numpy/pandas dtype to a signature dtype name."""
    text = str(dtype).lower()
    if text in DTYPES:
        return text
    if text.startswith("datetime64") or text.startswith("datetime"):
        return "datetime"
    if text in ("str", "string", "category") or text.startswith("string") or text == "<u":
        return "string"
    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        return "object"
    return {"U": "string", "S": "string", "b": "bool", "M": "datetime"}.get(kind, "object")


@dataclass(frozen=True)
class ColumnSpec:
    """One input or output: a named column, or an unnamed tensor with a shape.

    Args:
        dtype: One of :data:`DTYPES`.
        name: Column name (None for a tensor).
        shape: Tensor shape with -1 for the batch dimension (None for a column).
    """

    dtype: str
    name: str | None = None
    shape: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        out: dict[str, Any] = {"dtype": self.dtype}
        if self.name is not None:
            out["name"] = self.name
        if self.shape is not None:
            out["shape"] = list(self.shape)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSpec:
        """Inverse of :meth:`to_dict`; InvalidInput on an unknown dtype."""
        dtype = str(data.get("dtype", ""))
        if dtype not in DTYPES:
            raise InvalidInput(
                f"unknown signature dtype {dtype!r}",
                hint=f"Use one of: {', '.join(sorted(DTYPES))}.",
            )
        shape = data.get("shape")
        return cls(
            dtype=dtype,
            name=data.get("name"),
            shape=None if shape is None else tuple(int(s) for s in shape),
        )


@dataclass(frozen=True)
class Signature:
    """What a model takes and returns.

    Args:
        inputs: Named columns (tabular models) or one unnamed tensor.
        outputs: What ``predict`` returns, when known.

    Example:
        >>> import pandas as pd
        >>> sig = infer_signature(pd.DataFrame({"x": [1.0], "c": ["a"]}))
        >>> [(c.name, c.dtype) for c in sig.inputs]
        [('x', 'float64'), ('c', 'string')]
    """

    inputs: tuple[ColumnSpec, ...]
    outputs: tuple[ColumnSpec, ...] | None = None

    @property
    def columns(self) -> list[str]:
        """Names of the input columns (empty for tensor input)."""
        return [c.name for c in self.inputs if c.name is not None]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (stored in the model manifest)."""
        return {
            "inputs": [c.to_dict() for c in self.inputs],
            "outputs": None if self.outputs is None else [c.to_dict() for c in self.outputs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(data, Mapping) or not isinstance(data.get("inputs"), list):
            raise InvalidInput(
                "a signature needs an 'inputs' list",
                hint='Write it as {"inputs": [{"name": "x", "dtype": "float64"}], "outputs": ...}.',
            )
        outputs = data.get("outputs")
        return cls(
            inputs=tuple(ColumnSpec.from_dict(c) for c in data["inputs"]),
            outputs=None if outputs is None else tuple(ColumnSpec.from_dict(c) for c in outputs),
        )

    @property
    def digest(self) -> str:
        """sha256 of the canonical JSON form (equal signatures, equal digests)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _specs(data: Any, *, role: str) -> tuple[ColumnSpec, ...]:
    import pandas as pd

    if isinstance(data, Mapping):
        data = pd.DataFrame(dict(data))
    elif isinstance(data, Sequence) and data and isinstance(data[0], Mapping):
        data = pd.DataFrame(list(data))
    if isinstance(data, pd.Series):
        return (
            ColumnSpec(dtype_name(data.dtype), name=None if data.name is None else str(data.name)),
        )
    if isinstance(data, pd.DataFrame):
        if data.shape[1] == 0:
            raise InvalidInput(f"the {role} example has no columns", hint="Pass a non-empty table.")
        return tuple(ColumnSpec(dtype_name(data[c].dtype), name=str(c)) for c in data.columns)
    if isinstance(data, (list, tuple)):
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        shape = (-1, *data.shape[1:]) if data.ndim else (-1,)
        return (ColumnSpec(dtype_name(data.dtype), shape=tuple(int(s) for s in shape)),)
    raise InvalidInput(
        f"cannot infer a signature from a {role} example of type {type(data).__name__}",
        hint="Pass a pandas DataFrame or Series, a numpy array, a dict of columns or a list "
        "of records.",
    )


def infer_signature(input_example: Any, output: Any = None) -> Signature:
    """Infer a signature from an input example (and, optionally, an output example).

    Args:
        input_example: A pandas DataFrame, Series, numpy array, dict of columns or list of
            records.
        output: What the model returns for it (e.g. ``model.predict(input_example)``).

    Returns:
        The signature: one column spec per input column, or one tensor spec.

    Raises:
        InvalidInput: The example is empty or of an unsupported type.
    """
    return Signature(
        inputs=_specs(input_example, role="input"),
        outputs=None if output is None else _specs(output, role="output"),
    )
