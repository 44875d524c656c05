"""save_model / load_model and the loaded-model wrapper."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from loopml._version import __version__
from loopml.errors import Conflict, InvalidInput
from loopml.models._flavor import Flavor, detect_flavor, get_flavor, qualified_name
from loopml.models._manifest import MANIFEST, Manifest, digest_files, read_manifest
from loopml.models._signature import Signature, infer_signature

if TYPE_CHECKING:
    from collections.abc import Mapping

EXAMPLE_FILE = "input_example.json"
_EXAMPLE_ROWS = 20


@dataclass(frozen=True)
class SavedModel:
    """What :func:`save_model` wrote.

    Attributes:
        path: The model directory.
        digest: sha256 of its manifest (the model's identity; registries record it).
        payload_digest: sha256 over the model files only (equal for equal model bytes).
        flavor: Flavour name.
        model_class: Fully qualified class of the saved object.
        signature: Input/output schema, when known.
    """

    path: Path
    digest: str
    payload_digest: str
    flavor: str
    model_class: str
    signature: Signature | None


def _requirements(flavor: Flavor, extra: tuple[str, ...]) -> tuple[str, ...]:
    pins = []
    providers: Mapping[str, list[str]] | None = None
    for name in dict.fromkeys((*flavor.distributions, "pandas", *extra)):
        try:
            pins.append(f"{name}=={importlib_metadata.version(name)}")
            continue
        except importlib_metadata.PackageNotFoundError:
            pass
        # The package may come from another distribution (xgboost from xgboost-cpu).
        if providers is None:
            providers = importlib_metadata.packages_distributions()
        for dist in providers.get(name.replace("-", "_"), []):
            pins.append(f"{dist}=={importlib_metadata.version(dist)}")
    return tuple(dict.fromkeys(pins))


def _example_json(example: Any) -> dict[str, Any]:
    import pandas as pd

    if isinstance(example, pd.DataFrame):
        head = example.head(_EXAMPLE_ROWS)
        return {
            "type": "dataframe",
            "data": json.loads(head.to_json(orient="split", date_format="iso")),
        }
    array = np.asarray(example)[:_EXAMPLE_ROWS]
    return {"type": "ndarray", "dtype": str(array.dtype), "data": array.tolist()}


def _example_from_json(body: Mapping[str, Any], signature: Signature | None) -> Any:
    import io

    import pandas as pd

    if body.get("type") == "dataframe":
        frame = pd.read_json(io.StringIO(json.dumps(body["data"])), orient="split")
        if signature is not None:
            for spec in signature.inputs:
                if spec.name not in frame.columns or spec.dtype in ("string", "object"):
                    continue
                if spec.dtype == "datetime":
                    # ISO text ending in Z is time-zone aware, which astype to a naive
                    # dtype refuses; to_datetime keeps the zone.
                    frame[spec.name] = pd.to_datetime(frame[spec.name], format="ISO8601")
                else:
                    frame[spec.name] = frame[spec.name].astype(spec.dtype)
        return frame
    return np.asarray(body["data"], dtype=body.get("dtype"))


def _as_input(example: Any) -> Any:
    import pandas as pd

    if isinstance(example, dict):
        return pd.DataFrame(example)
    if isinstance(example, list) and example and isinstance(example[0], dict):
        return pd.DataFrame(example)
    return example


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    signature: Signature | None = None,
    input_example: Any = None,
    flavor: str | None = None,
    options: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    extra_requirements: tuple[str, ...] = (),
) -> SavedModel:
    """Save a model into a new directory with a manifest of every file's sha256.

    The directory is written under a temporary name and renamed into place, so it appears
    complete or not at all.

    Args:
        model: The model object (scikit-learn, XGBoost, LightGBM, any object with
            ``predict`` for ``python_function``, or a scikit-learn model to convert with
            ``flavor="onnx"``).
        path: Directory to create; it must not exist or be empty.
        signature: Input/output schema; inferred from ``input_example`` when omitted
            (the output by calling ``predict`` on it).
        input_example: A few rows of input (DataFrame, array, dict of columns, records);
            the first 20 rows are stored with the model.
        flavor: Flavour name; detected from the object when omitted.
        options: Flavour options, e.g. ``{"serialization": "pickle"}`` for sklearn.
        metadata: Free-form JSON-able metadata kept in the manifest.
        extra_requirements: More distributions whose installed versions are pinned.

    Returns:
        A :class:`SavedModel` with the manifest digest.

    Raises:
        Conflict: ``path`` exists and is not an empty directory.
        InvalidInput: No flavour handles the model, or the example/options are invalid.
        MissingExtra: The flavour needs an optional dependency that is not installed.

    Example:
        >>> from sklearn.linear_model import LinearRegression
        >>> import tempfile, pathlib
        >>> m = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
        >>> saved = save_model(m, pathlib.Path(tempfile.mkdtemp()) / "m", input_example=[[2.0]])
        >>> saved.flavor, len(saved.digest)
        ('sklearn', 64)
    """
    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise Conflict(
            f"cannot save a model to {target}: it exists and is not an empty directory",
            hint="Choose a new path, or remove the old model first.",
            path=str(target),
        )
    name = flavor or detect_flavor(model)
    impl = get_flavor(name)
    example = None if input_example is None else _as_input(input_example)
    if signature is None and example is not None:
        output = None
        if name != "onnx":
            try:
                output = impl.predict(model, example)
            except Exception:  # the output part of a signature is best effort
                output = None
        signature = infer_signature(example, output)
    staging = target.with_name(f".{target.name}.{os.getpid()}.{time.time_ns()}.partial")
    staging.mkdir(parents=True)
    try:
        opts = dict(options or {})
        if name == "onnx":
            opts["_input_example"] = example
        stored_options = impl.save(model, staging, opts)
        roles: dict[str, str] = {}
        if example is not None:
            (staging / EXAMPLE_FILE).write_text(json.dumps(_example_json(example), default=str))
            roles[EXAMPLE_FILE] = "example"
        manifest = Manifest(
            flavor=name,
            model_class=qualified_name(model),
            files=digest_files(staging, roles),
            options=stored_options,
            signature=signature,
            input_example=EXAMPLE_FILE if example is not None else None,
            requirements=_requirements(impl, extra_requirements),
            metadata=dict(metadata or {}),
            created_at_ms=time.time_ns() // 1_000_000,
            loopml_version=__version__,
        )
        (staging / MANIFEST).write_bytes(manifest.to_json())
        if target.exists():
            target.rmdir()
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _, digest = read_manifest(target)
    return SavedModel(
        path=target,
        digest=digest,
        payload_digest=manifest.payload_digest,
        flavor=name,
        model_class=manifest.model_class,
        signature=signature,
    )


class LoadedModel:
    """A verified, loaded model: ``predict`` and ``predict_proba`` with signature checks.

    Attributes:
        raw: The underlying model object (estimator, booster, ONNX session...).
        flavor: Flavour name.
        manifest: The verified manifest.
        digest: sha256 of the manifest.
        path: The directory it was loaded from.
        uri: The URI or path it was asked for.
    """

    def __init__(
        self, raw: Any, impl: Flavor, manifest: Manifest, digest: str, path: Path, uri: str
    ) -> None:
        self.raw = raw
        self._impl = impl
        self.flavor = impl.name
        self.manifest = manifest
        self.digest = digest
        self.path = path
        self.uri = uri

    def __repr__(self) -> str:
        return f"LoadedModel({self.uri!r}, flavor={self.flavor!r}, class={self.model_class!r})"

    @property
    def signature(self) -> Signature | None:
        """The stored input/output schema."""
        return self.manifest.signature

    @property
    def model_class(self) -> str:
        """Fully qualified class of the saved object."""
        return self.manifest.model_class

    @property
    def has_proba(self) -> bool:
        """Whether :meth:`predict_proba` is available."""
        return self._impl.has_proba(self.raw)

    @property
    def size_bytes(self) -> int:
        """Total size of the model's files."""
        return sum(e.size for e in self.manifest.files.values())

    def input_example(self) -> Any:
        """The stored input example (DataFrame or array), or None."""
        if self.manifest.input_example is None:
            return None
        body = json.loads((self.path / self.manifest.input_example).read_text())
        return _example_from_json(body, self.signature)

    def _prepare(self, data: Any) -> Any:
        import pandas as pd

        data = _as_input(data)
        sig = self.signature
        if sig is None or not sig.columns:
            return data
        if isinstance(data, pd.DataFrame):
            missing = [c for c in sig.columns if c not in data.columns]
            if missing:
                raise InvalidInput(
                    f"input is missing column(s) {', '.join(missing)} required by the model's "
                    "signature",
                    hint=f"The model takes: {', '.join(sig.columns)}.",
                    missing=missing,
                )
            return data[sig.columns]
        array = np.asarray(data)
        if array.ndim == 2 and array.shape[1] == len(sig.columns):
            return pd.DataFrame(array, columns=sig.columns)
        raise InvalidInput(
            f"input of shape {array.shape} does not match the {len(sig.columns)} signature columns",
            hint=f"Pass a DataFrame with columns: {', '.join(sig.columns)}.",
        )

    def predict(self, data: Any) -> np.ndarray:
        """Predictions (labels for classifiers, values for regressors).

        Raises:
            InvalidInput: Columns required by the signature are missing.
        """
        return self._impl.predict(self.raw, self._prepare(data))

    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities, one column per class.

        Raises:
            InvalidInput: The model has no probabilities, or columns are missing.
        """
        return self._impl.predict_proba(self.raw, self._prepare(data))


def load_directory(directory: Path, uri: str, expected_digest: str | None = None) -> LoadedModel:
    """Verify every file of a model directory, then load it with its flavour."""
    manifest, digest = read_manifest(directory)
    if expected_digest is not None and digest != expected_digest:
        from loopml.errors import DigestMismatch

        raise DigestMismatch(expected_digest, digest, str(directory / MANIFEST))
    impl = get_flavor(manifest.flavor)
    raw = impl.load(directory, dict(manifest.options))
    return LoadedModel(raw, impl, manifest, digest, directory, uri)


def check_model_dir(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path if it is a directory; InvalidInput otherwise."""
    directory = Path(path)
    if not directory.exists():
        raise InvalidInput(
            f"no model at {directory}",
            hint="Pass a model directory written by save_model, or a models:/ URI.",
        )
    return directory
