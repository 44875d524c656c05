"""Importing an MLflow ``MLmodel`` directory (sklearn and pyfunc flavours)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from loopml.errors import InvalidInput
from loopml.models import ColumnSpec, SavedModel, Signature, save_model

if TYPE_CHECKING:
    import os

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


def _signature(spec: dict[str, Any] | None) -> Signature | None:
    if not spec or not spec.get("inputs"):
        return None

    def columns(text: str | None) -> tuple[ColumnSpec, ...] | None:
        if not text:
            return None
        out = []
        for col in json.loads(text):
            if col.get("type") == "tensor":
                info = col.get("tensor-spec", {})
                out.append(
                    ColumnSpec(
                        _dtype(info.get("dtype", "float64")),
                        name=col.get("name"),
                        shape=tuple(info.get("shape", [-1])),
                    )
                )
            else:
                out.append(
                    ColumnSpec(
                        _MLFLOW_TYPES.get(col.get("type", ""), "object"), name=col.get("name")
                    )
                )
        return tuple(out)

    inputs = columns(spec.get("inputs"))
    return None if inputs is None else Signature(inputs, columns(spec.get("outputs")))


def _dtype(text: str) -> str:
    return {"float64": "float64", "float32": "float32", "int64": "int64", "int32": "int32"}.get(
        text, "object"
    )


def import_mlflow_model(
    path: str | os.PathLike[str], out: str | os.PathLike[str], *, trust_pickle: bool = False
) -> SavedModel:
    """Convert an MLflow model directory into a loopml model directory.

    The sklearn flavour (``pickled_model``) and the pyfunc flavour with
    ``loader_module: mlflow.sklearn`` are read. MLflow stores them as (cloud)pickle,
    which runs code on load: pass ``trust_pickle=True`` only for models from a source
    you trust. The result is saved with skops, with the MLflow signature kept.

    Args:
        path: The MLflow model directory (holding ``MLmodel``).
        out: New directory for the loopml model.
        trust_pickle: Allow unpickling the MLflow model file.

    Returns:
        The saved loopml model.

    Raises:
        InvalidInput: No MLmodel file, an unsupported flavour, or trust_pickle not given.
    """
    root = Path(path)
    try:
        mlmodel = yaml.safe_load((root / "MLmodel").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(
            f"{root} is not an MLflow model directory: {exc}",
            hint="Point at the folder holding the MLmodel file.",
        ) from exc
    flavors = mlmodel.get("flavors") or {}
    if "sklearn" in flavors:
        pickled = flavors["sklearn"].get("pickled_model", "model.pkl")
    elif flavors.get("python_function", {}).get("loader_module") == "mlflow.sklearn":
        pickled = flavors["python_function"].get("model_path", "model.pkl")
    else:
        raise InvalidInput(
            f"{root}: MLflow flavour(s) {', '.join(flavors) or 'none'} cannot be imported",
            hint="loopml imports the sklearn flavour and pyfunc models saved by mlflow.sklearn.",
        )
    if not trust_pickle:
        raise InvalidInput(
            f"{root / pickled} is a pickle, which runs code when loaded",
            hint="Pass trust_pickle=True (--trust-pickle) if you trust where the model came from.",
        )
    with open(root / pickled, "rb") as handle:
        model = pickle.load(handle)
    example = None
    example_info = mlmodel.get("saved_input_example_info") or {}
    if example_info.get("artifact_path"):
        import pandas as pd

        body = json.loads((root / example_info["artifact_path"]).read_text())
        if "columns" in body:
            example = pd.DataFrame(body["data"], columns=body["columns"])
    return save_model(
        model,
        out,
        signature=_signature(mlmodel.get("signature")),
        input_example=example,
        flavor="sklearn",
        metadata={"imported_from": "mlflow", "mlflow_run_id": mlmodel.get("run_id")},
    )
