"""ONNX flavour: scikit-learn models converted with skl2onnx, run with onnxruntime."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from loopml.errors import InvalidInput, MissingExtra
from loopml.models._flavor import Flavor

if TYPE_CHECKING:
    from pathlib import Path

_NUMPY = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
}


class OnnxModel:
    """An onnxruntime session with ``predict``/``predict_proba`` over tables or arrays."""

    def __init__(self, path: Path) -> None:
        ort = _import("onnxruntime")
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.inputs = self.session.get_inputs()
        self.outputs = [o.name for o in self.session.get_outputs()]

    def _feeds(self, data: Any) -> dict[str, np.ndarray]:
        import pandas as pd

        if len(self.inputs) == 1 and not isinstance(data, pd.DataFrame):
            spec = self.inputs[0]
            return {spec.name: np.asarray(data, dtype=_NUMPY.get(spec.type, np.float32))}
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        if len(self.inputs) == 1 and self.inputs[0].name not in frame.columns:
            spec = self.inputs[0]
            return {spec.name: frame.to_numpy(dtype=_NUMPY.get(spec.type, np.float32))}
        feeds = {}
        for spec in self.inputs:
            column = frame[spec.name].to_numpy()
            if spec.type == "tensor(string)":
                column = column.astype(str).astype(object)
            else:
                column = column.astype(_NUMPY.get(spec.type, np.float32))
            feeds[spec.name] = column.reshape(-1, 1)
        return feeds

    def _run(self, data: Any) -> list[Any]:
        return list(self.session.run(None, self._feeds(data)))

    def predict(self, data: Any) -> np.ndarray:
        """The first output (labels for classifiers, values for regressors)."""
        return np.asarray(self._run(data)[0]).ravel()

    def predict_proba(self, data: Any) -> np.ndarray:
        """The probabilities output of a classifier."""
        out = self._run(data)
        if len(out) < 2:
            raise InvalidInput("this ONNX model has no probabilities output")
        return np.asarray(out[1])


def _import(name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise MissingExtra("onnx", "the ONNX model flavour") from exc


def _initial_types(example: Any) -> list[tuple[str, Any]]:
    import pandas as pd

    dt = _import("skl2onnx.common.data_types")
    # All-numeric tables go in as one float tensor; mixed tables as one input per column,
    # which a ColumnTransformer at the head of a pipeline routes by name.
    mixed = isinstance(example, pd.DataFrame) and any(
        example[c].dtype.kind not in "iufb" for c in example.columns
    )
    if mixed:
        types = []
        for column in example.columns:
            kind = example[column].dtype.kind
            if kind in "iub":
                tensor = dt.Int64TensorType([None, 1])
            elif kind == "f":
                tensor = dt.FloatTensorType([None, 1])
            else:
                tensor = dt.StringTensorType([None, 1])
            types.append((str(column), tensor))
        return types
    array = np.asarray(example)
    return [("X", dt.FloatTensorType([None, int(array.shape[1]) if array.ndim > 1 else 1]))]


class OnnxFlavor(Flavor):
    """Converts scikit-learn models to ONNX (``model.onnx``); needs an input example."""

    name: ClassVar[str] = "onnx"
    distributions: ClassVar[tuple[str, ...]] = ("onnxruntime", "onnx", "numpy")

    @classmethod
    def handles(cls, model: Any) -> bool:
        """ONNX is chosen explicitly with ``flavor="onnx"``, never detected."""
        return False

    def save(self, model: Any, directory: Path, options: dict[str, Any]) -> dict[str, Any]:
        """Convert (scikit-learn model) or copy (ONNX ModelProto) to ``model.onnx``."""
        onnx = _import("onnx")
        if isinstance(model, onnx.ModelProto):
            proto = model
        else:
            example = options.pop("_input_example", None)
            if example is None:
                raise InvalidInput(
                    "converting a model to ONNX needs an input example",
                    hint="Pass input_example= (a DataFrame or array shaped like the inputs).",
                )
            skl2onnx = _import("skl2onnx")
            final = model.steps[-1][1] if hasattr(model, "steps") else model
            conv_options = {id(final): {"zipmap": False}} if hasattr(final, "classes_") else None
            try:
                proto = skl2onnx.convert_sklearn(
                    model, initial_types=_initial_types(example), options=conv_options
                )
            except Exception as exc:  # skl2onnx raises many types for unsupported models
                raise InvalidInput(
                    f"skl2onnx cannot convert a {type(model).__qualname__}: {exc}",
                    hint="Save it with the sklearn flavour instead, or simplify the pipeline.",
                ) from exc
        (directory / "model.onnx").write_bytes(proto.SerializeToString())
        return {"file": "model.onnx"}

    def load(self, directory: Path, options: dict[str, Any]) -> Any:
        """An :class:`OnnxModel` session."""
        return OnnxModel(directory / str(options.get("file", "model.onnx")))
