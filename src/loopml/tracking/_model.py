"""Serialising a model into a run's artifacts.

Interim format until the models capability lands: ``<name>/model.pkl`` (pickle) and
``<name>/signature.json`` (input column names and dtypes). Everything goes through
:func:`_serialise_model`, the one place to swap for ``loopml.models.save_model``.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

from loopml.errors import InvalidInput


def infer_signature(example: Any) -> dict[str, Any]:
    """Column names and dtypes of an input example (DataFrame, array, list of rows)."""
    columns = getattr(example, "columns", None)
    dtypes = getattr(example, "dtypes", None)
    if columns is not None and dtypes is not None:
        return {
            "inputs": [
                {"name": str(name), "dtype": str(dtype)}
                for name, dtype in zip(columns, dtypes, strict=True)
            ]
        }
    shape = getattr(example, "shape", None)
    dtype = getattr(example, "dtype", None)
    if shape is not None and dtype is not None:
        width = int(shape[1]) if len(shape) > 1 else 1
        return {
            "inputs": [{"name": f"f{i}", "dtype": str(dtype)} for i in range(width)],
            "shape": [-1, *[int(s) for s in shape[1:]]],
        }
    if isinstance(example, list | tuple) and example and isinstance(example[0], list | tuple):
        return {
            "inputs": [
                {"name": f"f{i}", "dtype": type(v).__name__} for i, v in enumerate(example[0])
            ]
        }
    raise InvalidInput(
        f"cannot infer a signature from an input example of type {type(example).__name__}",
        hint="Pass a pandas DataFrame, a numpy array or a list of rows as input_example, "
        "or give signature= explicitly.",
    )


def _serialise_model(
    model: Any, name: str, *, input_example: Any = None, signature: dict[str, Any] | None = None
) -> dict[str, bytes]:
    """Files (path inside the run -> bytes) that store ``model`` under ``name``."""
    try:
        blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise InvalidInput(
            f"cannot serialise the model {type(model).__name__}: {exc}",
            hint="log_model stores picklable models; define classes at module level.",
        ) from exc
    if signature is None and input_example is not None:
        signature = infer_signature(input_example)
    meta = {
        "format": "pickle",
        "python_class": f"{type(model).__module__}.{type(model).__qualname__}",
        **(signature or {"inputs": None}),
    }
    return {
        f"{name}/model.pkl": blob,
        f"{name}/signature.json": json.dumps(meta, indent=2, sort_keys=True).encode(),
    }
