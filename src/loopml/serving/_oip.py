"""The Open Inference Protocol (KServe V2) request and response bodies.

A request's tensors become the model's columns: one tensor per signature column (shape
``[n]`` or ``[n, 1]``), or one 2-D tensor ``[n, columns]`` in signature order; a tensor
model takes its one tensor whatever it is called. ``data`` may be flat (row-major) or
nested, as the protocol allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from loopml.serving._validate import OIP_NUMPY, Columns, RequestError, Schema, oip_datatype

_INTEGER = {"i", "u", "b"}


@dataclass(frozen=True)
class InferRequest:
    """What an infer body asked for.

    Attributes:
        columns: The validated rows.
        id: The caller's request id, if any.
        outputs: Names of the outputs asked for (None: all).
        timeout_s: ``parameters.timeout`` (microseconds, as Triton sends it) in seconds.
    """

    columns: Columns
    id: str | None
    outputs: tuple[str, ...] | None
    timeout_s: float | None


def _tensor(index: int, raw: Any) -> tuple[str, np.ndarray, str]:
    where = f"inputs[{index}]"
    if not isinstance(raw, dict):
        raise RequestError(f"{where} must be an object", status=400, code="bad_tensor", field=where)
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise RequestError(
            f"{where} needs a 'name' string", status=400, code="bad_tensor", field=f"{where}.name"
        )
    shape = raw.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
    ):
        raise RequestError(
            f"input {name!r} needs a 'shape': a non-empty list of non-negative integers; "
            f"got {shape!r}",
            status=400,
            code="bad_tensor",
            field=name,
        )
    datatype = raw.get("datatype")
    if datatype not in OIP_NUMPY:
        raise RequestError(
            f"input {name!r} has datatype {datatype!r}",
            status=400,
            code="bad_datatype",
            field=name,
            hint=f"Use one of: {', '.join(OIP_NUMPY)}.",
        )
    if "data" not in raw:
        raise RequestError(
            f"input {name!r} has no 'data'",
            status=400,
            code="bad_tensor",
            field=name,
            hint="Send the values as JSON (binary tensor data is not supported; "
            "tritonclient: binary_data=False).",
        )
    data = raw["data"]
    try:
        arr = np.asarray(data if isinstance(data, list) else [data])
    except (ValueError, TypeError):
        raise RequestError(
            f"input {name!r} has ragged data", code="wrong_shape", field=name
        ) from None
    need = math.prod(shape)
    if arr.size != need:
        raise RequestError(
            f"input {name!r} has shape {shape} ({need} values) but {arr.size} values of data",
            code="wrong_shape",
            field=name,
        )
    return name, _check_datatype(name, arr.reshape(shape), datatype), datatype


def _check_datatype(name: str, arr: np.ndarray, datatype: str) -> np.ndarray:
    kind = arr.dtype.kind
    if arr.size == 0:
        return arr.astype(OIP_NUMPY[datatype])
    if datatype == "BYTES":
        ok = kind == "U"
    elif datatype == "BOOL":
        ok = kind == "b"
    elif datatype.startswith(("INT", "UINT")):
        ok = kind in _INTEGER
    else:
        ok = kind in "fiub"
    if not ok:
        sample = arr.reshape(-1)[0].item() if arr.size else None
        raise RequestError(
            f"input {name!r} is declared {datatype} but holds {sample!r} "
            f"({'text' if kind == 'U' else arr.dtype.name})",
            code="wrong_type",
            field=name,
        )
    if datatype == "BYTES":
        return arr.astype(object)
    target = np.dtype(OIP_NUMPY[datatype])
    if target.kind in "iu":
        info = np.iinfo(target)
        if arr.min() < info.min or arr.max() > info.max:
            raise RequestError(
                f"input {name!r} holds values outside the range of {datatype}",
                code="wrong_type",
                field=name,
            )
    return arr.astype(target)


def _timeout(parameters: Any) -> float | None:
    if not isinstance(parameters, dict) or parameters.get("timeout") is None:
        return None
    value = parameters["timeout"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise RequestError(
            f"parameters.timeout must be a positive number of microseconds; got {value!r}",
            status=400,
            code="bad_timeout",
            field="parameters.timeout",
        )
    return float(value) / 1e6


def parse_infer(body: Any, schema: Schema) -> InferRequest:
    """Validate an infer request body against the model's schema."""
    if not isinstance(body, dict):
        raise RequestError(
            "an infer request must be a JSON object with 'inputs'",
            status=400,
            code="bad_body",
            field="inputs",
        )
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise RequestError(
            "'inputs' must be a non-empty list of tensors",
            status=400,
            code="bad_body",
            field="inputs",
        )
    rid = body.get("id")
    if rid is not None and not isinstance(rid, str):
        raise RequestError("'id' must be a string", status=400, code="bad_body", field="id")
    outputs = body.get("outputs")
    wanted: tuple[str, ...] | None = None
    if outputs is not None:
        if not isinstance(outputs, list) or not all(
            isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
        ):
            raise RequestError(
                "'outputs' must be a list of objects with a 'name'",
                status=400,
                code="bad_body",
                field="outputs",
            )
        wanted = tuple(o["name"] for o in outputs)
    tensors = [_tensor(i, raw) for i, raw in enumerate(inputs)]
    names = [t[0] for t in tensors]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise RequestError(
            f"input {dupes[0]!r} is given twice", status=400, code="bad_body", field=dupes[0]
        )
    return InferRequest(
        columns=_columns(tensors, schema),
        id=rid,
        outputs=wanted,
        timeout_s=_timeout(body.get("parameters")),
    )


def _columns(tensors: list[tuple[str, np.ndarray, str]], schema: Schema) -> Columns:
    if schema.is_tensor:
        if len(tensors) != 1:
            raise RequestError(
                f"the model takes one input tensor; got {len(tensors)}",
                code="extra_column",
                field=tensors[1][0],
            )
        name, arr, _ = tensors[0]
        return schema.coerce_tensor(arr, name=name)
    known = set(schema.columns)
    if len(tensors) == 1 and tensors[0][0] not in known:
        name, arr, _ = tensors[0]
        if arr.ndim == 2 and (arr.shape[1] != 1 or len(schema.columns) == 1):
            return schema.from_matrix(arr, field=name)
    return schema.coerce({name: arr for name, arr, _ in tensors})


def output_tensor(name: str, values: np.ndarray) -> dict[str, Any]:
    """One response tensor (flat row-major data)."""
    return {
        "name": name,
        "datatype": oip_datatype(values.dtype),
        "shape": list(values.shape),
        "data": values.reshape(-1).tolist(),
    }
