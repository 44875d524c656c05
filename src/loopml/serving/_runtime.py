"""The served model: loaded once, verified, with a ``Columns -> outputs`` predict function.

A scikit-learn estimator fitted on a DataFrame of numbers is called with a 2-D array
rather than a DataFrame per request (building a DataFrame costs more than predicting one
row of a linear model). It is called on a shallow copy whose ``feature_names_in_`` is
removed, which is exactly the state of an estimator fitted on an array, so scikit-learn
has no feature names to warn about; the fast path is checked against the DataFrame path on
the model's input example at load, and not used if they disagree.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from loopml.errors import InvalidInput
from loopml.models import MANIFEST, LoadedModel, load_model, resolve, save_model
from loopml.serving._forest import forest_proba
from loopml.serving._linear import logistic_predict
from loopml.serving._validate import Columns, Schema, oip_datatype

if TYPE_CHECKING:
    from loopml.workspace import Workspace

Predict = Callable[[Columns], dict[str, np.ndarray]]
RUNTIMES = ("native", "onnx")


@dataclass
class ServedModel:
    """A model ready to answer.

    Attributes:
        name: Registered model name (or the directory name for a path).
        version: Registered version number (None for a path).
        model: The verified, loaded model.
        schema: The inputs it accepts.
        predict: ``Columns -> {output name: array}`` (run on the batcher's thread).
        outputs: Output name -> (OIP datatype, shape with -1 for the batch).
        runtime: ``native`` or ``onnx``.
        fast_path: Whether predict skips building a DataFrame.
    """

    name: str
    version: int | None
    model: LoadedModel
    schema: Schema
    predict: Predict
    outputs: dict[str, tuple[str, list[int]]] = field(default_factory=dict)
    runtime: str = "native"
    fast_path: bool = False

    @property
    def version_text(self) -> str:
        """The version as OIP shows it (``"1"`` for an unregistered model)."""
        return str(self.version) if self.version is not None else "1"

    @property
    def label(self) -> str:
        """The output MLflow's ``predictions`` come from."""
        return next(iter(self.outputs)) if self.outputs else "predict"


def _bundle(path: Path) -> tuple[Path, str | None, int | None, str | None]:
    """A ``loopml models package`` folder: its model/ dir, name, version and digest."""
    meta_file = path / "bundle.json"
    meta: dict[str, Any] = {}
    if meta_file.is_file():
        try:
            meta = json.loads(meta_file.read_text())
        except (OSError, ValueError):
            meta = {}
    version = meta.get("version")
    return (
        path / "model",
        meta.get("model"),
        version if isinstance(version, int) else None,
        meta.get("manifest_digest"),
    )


def load_served(
    model_uri: str | os.PathLike[str], *, workspace: Workspace, runtime: str = "native"
) -> ServedModel:
    """Resolve, verify and load a model URI, bundle folder or model directory.

    Raises:
        DigestMismatch: A file of the model was altered.
        NotFound: The URI names nothing.
        InvalidInput: Not a model, or an unknown runtime.
    """
    if runtime not in RUNTIMES:
        raise InvalidInput(
            f"unknown runtime {runtime!r}", hint=f"Use one of: {', '.join(RUNTIMES)}."
        )
    text = os.fspath(model_uri)
    path = Path(text)
    name: str | None
    version: int | None = None
    if path.is_dir() and not (path / MANIFEST).exists() and (path / "model" / MANIFEST).exists():
        directory, name, version, digest = _bundle(path)
        model = load_model(directory, expected_digest=digest, workspace=workspace)
        name = name or path.resolve().name
    elif path.exists():
        model = load_model(path, workspace=workspace)
        name = path.resolve().name
    else:
        resolved = resolve(text, workspace)
        model = load_model(
            resolved.path, expected_digest=resolved.manifest_digest, workspace=workspace
        )
        if resolved.version is not None:
            name, version = resolved.version.model_name, resolved.version.number
        else:
            name = text.rstrip("/").rsplit("/", 1)[-1] or "model"
    if runtime == "onnx" and model.flavor != "onnx":
        model = _as_onnx(model, workspace)
    return _serve(model, name, version, runtime)


def _as_onnx(model: LoadedModel, workspace: Workspace) -> LoadedModel:
    """The model converted to ONNX (cached by the source manifest digest)."""
    target = workspace.cache_dir / "onnx" / model.digest
    if not (target / MANIFEST).exists():
        example = model.input_example()
        if example is None:
            raise InvalidInput(
                f"cannot convert {model.uri} to ONNX: it was saved without an input example",
                hint="Save it with input_example=, or serve it with --runtime native.",
            )
        save_model(model.raw, target, flavor="onnx", input_example=example)
    return load_model(target, workspace=workspace)


def _output_names(model: LoadedModel) -> tuple[str, str | None]:
    sig = model.signature
    label = "predict"
    if sig is not None and sig.outputs and len(sig.outputs) == 1 and sig.outputs[0].name:
        label = str(sig.outputs[0].name)
    return label, ("predict_proba" if model.has_proba else None)


def _serve(model: LoadedModel, name: str, version: int | None, runtime: str) -> ServedModel:
    schema = Schema.from_signature(model.signature)
    label, proba = _output_names(model)
    slow = _frame_predict(model, schema, label, proba)
    predict, fast = slow, False
    # A forest's labels are the argmax of its probabilities: one pass over the trees
    # instead of two (checked against predict() on the input example below).
    classes = _vote_classes(model) if proba is not None and model.flavor == "sklearn" else None
    labels: str | None = label if classes is None else None
    if model.flavor == "onnx":
        predict = _onnx_predict(model, schema, label, proba)
    elif model.flavor == "sklearn" and schema.numeric and not schema.is_tensor:
        stripped = _strip_feature_names(model.raw, list(schema.columns))
        if stripped is not None:
            predict, fast = _array_predict(stripped, schema, labels, proba), True
    if classes is not None and proba is not None:
        inner = predict if fast else _frame_predict(model, schema, None, proba)
        direct = forest_proba(model.raw, schema, proba, inner) if schema.numeric else None
        if direct is not None:
            inner, fast = direct, True
        predict = _labels_from_proba(inner, label, proba, classes)
    elif model.flavor == "sklearn" and proba is not None and schema.numeric:
        direct = logistic_predict(model.raw, schema, label, proba, predict)
        if direct is not None:
            predict, fast = direct, True
    served = ServedModel(name, version, model, schema, predict, runtime=runtime)
    example = _example_columns(model, schema)
    if example is not None:
        try:
            out = predict(example)
        except Exception as exc:  # the warm-up is the health check: say so, no traceback
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            raise InvalidInput(
                f"{name} v{served.version_text} fails on its own input example: "
                f"{type(exc).__name__}: {first}",
                hint="Fix the model (or its input example) and register a new version.",
            ) from exc
        if (fast or classes is not None) and not _same(out, slow(example)):
            predict, fast = slow, False
            out = slow(example)
        served.predict, served.fast_path = predict, fast
        served.outputs = {k: (oip_datatype(v.dtype), [-1, *v.shape[1:]]) for k, v in out.items()}
    else:
        served.outputs = {label: ("FP64", [-1])}
        if proba:
            served.outputs[proba] = ("FP64", [-1, -1])
    return served


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    if a.keys() != b.keys():
        return False
    for key, left in a.items():
        right = b[key]
        if left.shape != right.shape:
            return False
        if left.dtype.kind in "fc":
            if not np.allclose(left, right, equal_nan=True):
                return False
        elif not np.array_equal(left, right):
            return False
    return True


def _example_columns(model: LoadedModel, schema: Schema) -> Columns | None:
    import pandas as pd

    example = model.input_example()
    if example is None:
        return None
    if isinstance(example, pd.DataFrame):
        if not all(c in example.columns for c in schema.columns):
            return None
        return schema.coerce({c: example[c].to_numpy() for c in schema.columns})
    return schema.coerce_tensor(np.asarray(example))


def _loaded_isinstance(obj: Any, module: str, *names: str) -> bool:
    """``isinstance(obj, module.name)`` without importing ``module``: an object can only be
    an instance of a class whose module was imported (and importing sklearn.compose or
    sklearn.ensemble for a linear model would only delay the server's start)."""
    loaded = sys.modules.get(module)
    return loaded is not None and any(
        isinstance(obj, getattr(loaded, name)) for name in names if hasattr(loaded, name)
    )


#: Classifiers whose ``predict`` is by definition ``classes_[argmax(predict_proba)]``
#: (scikit-learn's forests with one output), exact types: a subclass may predict otherwise.
_VOTERS = {
    ("sklearn.ensemble._forest", "RandomForestClassifier"),
    ("sklearn.ensemble._forest", "ExtraTreesClassifier"),
}


def _vote_classes(model: LoadedModel) -> np.ndarray | None:
    """The classes of a model whose labels are the argmax of its probabilities, else None."""
    final = model.raw
    if _loaded_isinstance(final, "sklearn.pipeline", "Pipeline"):
        final = final.steps[-1][1]
    kind = type(final)
    if (kind.__module__, kind.__name__) not in _VOTERS or getattr(final, "n_outputs_", 0) != 1:
        return None
    return np.asarray(final.classes_)


def _labels_from_proba(predict: Predict, label: str, proba: str, classes: np.ndarray) -> Predict:
    """``predict`` computing the probabilities once and the labels from them."""

    def call(columns: Columns) -> dict[str, np.ndarray]:
        probabilities = predict(columns)[proba]
        return {label: classes.take(np.argmax(probabilities, axis=1), axis=0), proba: probabilities}

    return call


def _strip_feature_names(raw: Any, columns: list[str]) -> Any:
    """A shallow copy of an estimator that takes arrays without a feature-name warning."""
    if _loaded_isinstance(raw, "sklearn.compose", "ColumnTransformer") or _loaded_isinstance(
        raw, "sklearn.pipeline", "FeatureUnion"
    ):
        return None
    if _loaded_isinstance(raw, "sklearn.pipeline", "Pipeline"):
        first_name, first = raw.steps[0]
        stripped = _strip_feature_names(first, columns)
        if stripped is None:
            return None
        pipe = copy.copy(raw)
        pipe.steps = [(first_name, stripped), *raw.steps[1:]]
        return pipe
    names = getattr(raw, "feature_names_in_", None)
    if names is None or list(names) != columns or "feature_names_in_" not in vars(raw):
        return None
    clone = copy.copy(raw)
    del clone.feature_names_in_
    return clone


def _array_predict(est: Any, schema: Schema, label: str | None, proba: str | None) -> Predict:
    """Predict on a 2-D array of the columns (``label`` None: probabilities only)."""

    def predict(columns: Columns) -> dict[str, np.ndarray]:
        matrix = schema.matrix(columns)
        out = {} if label is None else {label: np.asarray(est.predict(matrix))}
        if proba is not None:
            out[proba] = np.asarray(est.predict_proba(matrix))
        return out

    return predict


def _frame_predict(
    model: LoadedModel, schema: Schema, label: str | None, proba: str | None
) -> Predict:
    """Predict through the loaded model (``label`` None: probabilities only)."""

    def predict(columns: Columns) -> dict[str, np.ndarray]:
        import pandas as pd

        data: Any = columns["input"] if schema.is_tensor else pd.DataFrame(columns, copy=False)
        out = {} if label is None else {label: np.asarray(model.predict(data))}
        if proba is not None:
            out[proba] = np.asarray(model.predict_proba(data))
        return out

    return predict


def _onnx_predict(model: LoadedModel, schema: Schema, label: str, proba: str | None) -> Predict:
    session = model.raw.session
    inputs = session.get_inputs()
    kinds = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64}

    def feeds(columns: Columns) -> dict[str, np.ndarray]:
        if schema.is_tensor:
            return {inputs[0].name: columns["input"].astype(kinds.get(inputs[0].type, np.float32))}
        if len(inputs) == 1 and inputs[0].name not in columns:
            matrix = np.column_stack([columns[c] for c in schema.columns])
            return {inputs[0].name: matrix.astype(kinds.get(inputs[0].type, np.float32))}
        out = {}
        for spec in inputs:
            col = columns[spec.name]
            if spec.type == "tensor(string)":
                col = col.astype(str).astype(object)
            else:
                col = col.astype(kinds.get(spec.type, np.float32))
            out[spec.name] = col.reshape(-1, 1)
        return out

    def predict(columns: Columns) -> dict[str, np.ndarray]:
        results = session.run(None, feeds(columns))
        out = {label: np.asarray(results[0]).reshape(len(results[0]), *np.shape(results[0])[1:])}
        if out[label].ndim == 2 and out[label].shape[1] == 1:
            out[label] = out[label][:, 0]
        if len(results) > 1 and proba is not None:
            out[proba] = np.asarray(results[1])
        return out

    return predict
