"""Importing an MLflow ``MLmodel`` directory: sklearn, xgboost, lightgbm and pyfunc flavours.

What runs code on load is refused unless the user trusts it: skops files load through
skops' trusted-types check (skops' defaults plus the types named with ``trust``; the
``skops_trusted_types`` the MLmodel file lists are not trusted, since whoever wrote the
file wrote that list too), and pickles (``pickle``/``cloudpickle``, pyfunc
``python_model``) load only with ``trust_pickle``. Native XGBoost and LightGBM model
files hold no code and load as they are.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from loopml.errors import InvalidInput, MissingExtra
from loopml.models import MlflowPythonModel, SavedModel, save_model
from loopml.registry._mlflow_schema import example_from_mlmodel, signature_from_mlmodel

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable

_SUPPORTED = (
    "loopml imports the sklearn, xgboost and lightgbm flavours and python_function models "
    "with a python_model."
)


class _Source:
    """One MLflow model directory being read, with what the user trusts."""

    def __init__(self, root: Path, trust: frozenset[str], trust_pickle: bool) -> None:
        self.root = root
        self.trust = trust
        self.trust_pickle = trust_pickle
        self.unpickled = False

    def file(self, name: Any, what: str) -> Path:
        """A file the MLmodel names, refused when it is missing or outside the directory."""
        if not isinstance(name, str) or not name:
            raise InvalidInput(
                f"{self.root / 'MLmodel'}: the {what} flavour names no model file",
                hint="The MLmodel file is damaged; save the model with MLflow again.",
            )
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise InvalidInput(
                f"{self.root / 'MLmodel'}: the {what} model file {name!r} lies outside the "
                "model directory",
                hint="Model files must be inside the folder holding MLmodel.",
            )
        if not path.is_file():
            raise InvalidInput(
                f"{self.root / name}: the {what} model file named in MLmodel does not exist",
                hint="Copy the whole MLflow model directory, not just the MLmodel file.",
            )
        return path

    def skops(self, path: Path) -> Any:
        """Load a skops file, trusting skops' defaults and the types the user named."""
        try:
            import skops.io as sio
        except ImportError as exc:
            raise MissingExtra("sklearn", "importing a skops model") from exc
        try:
            needed = sio.get_untrusted_types(file=path)
        except Exception as exc:  # a damaged zip, or not skops at all
            raise InvalidInput(
                f"{path} is not a readable skops file: {exc}",
                hint="Save the model with MLflow again, or check the copy is complete.",
            ) from exc
        missing = [name for name in needed if name not in self.trust]
        if missing:
            flags = " ".join(f"--trust {name}" for name in missing)
            raise InvalidInput(
                f"{path} needs type(s) outside skops' trusted defaults: {', '.join(missing)}",
                hint=f"If you trust where the model came from, pass {flags} (trust= in Python).",
                untrusted=missing,
            )
        return sio.load(path, trusted=list(needed))

    def pickle(self, path: Path, serialization: str) -> Any:
        """Unpickle a file, only when the user trusts pickles."""
        if not self.trust_pickle:
            raise InvalidInput(
                f"{path} is a {serialization}, which runs code when loaded",
                hint="Pass --trust-pickle (trust_pickle=True in Python) if you trust where "
                "the model came from.",
            )
        self.unpickled = True
        try:
            with open(path, "rb") as handle:
                return pickle.load(handle)
        except Exception as exc:
            raise InvalidInput(
                f"{path} does not unpickle: {type(exc).__name__}: {exc}",
                hint="Install the packages (and versions) in the model's requirements.txt.",
            ) from exc

    def serialized(self, path: Path, serialization: Any) -> Any:
        """Load a skops, pickle or cloudpickle file (by MLflow's ``serialization_format``)."""
        if serialization is None:
            serialization = "skops" if path.suffix == ".skops" else "pickle"
        if serialization == "skops":
            return self.skops(path)
        if serialization in ("pickle", "cloudpickle"):
            return self.pickle(path, str(serialization))
        raise InvalidInput(
            f"{self.root / 'MLmodel'}: unknown serialization_format {serialization!r}",
            hint="MLflow writes skops, pickle or cloudpickle.",
        )


def _sklearn(src: _Source, section: dict[str, Any]) -> tuple[Any, str]:
    path = src.file(section.get("pickled_model", section.get("model_path")), "sklearn")
    return src.serialized(path, section.get("serialization_format")), "sklearn"


def _xgboost(src: _Source, section: dict[str, Any]) -> tuple[Any, str]:
    try:
        import xgboost
    except ImportError as exc:
        raise MissingExtra("xgboost", "importing an MLflow xgboost model") from exc
    path = src.file(section.get("data"), "xgboost")
    name = str(section.get("model_class") or "xgboost.core.Booster").rsplit(".", 1)[-1]
    cls = getattr(xgboost, name, None)
    # The class comes from the file: only XGBoost's own model classes are built.
    if not (isinstance(cls, type) and issubclass(cls, (xgboost.Booster, xgboost.XGBModel))):
        raise InvalidInput(
            f"{src.root / 'MLmodel'}: {section.get('model_class')!r} is not an XGBoost model class",
            hint="loopml imports xgboost.Booster and the XGBoost scikit-learn wrappers.",
        )
    model = cls()
    try:
        model.load_model(str(path))
    except xgboost.core.XGBoostError as exc:
        raise InvalidInput(f"{path} is not a readable XGBoost model: {exc}") from exc
    return model, "xgboost"


def _lightgbm(src: _Source, section: dict[str, Any]) -> tuple[Any, str]:
    try:
        import lightgbm
    except ImportError as exc:
        raise MissingExtra("lightgbm", "importing an MLflow lightgbm model") from exc
    path = src.file(section.get("data"), "lightgbm")
    if str(section.get("model_class", "lightgbm.basic.Booster")).endswith(".Booster"):
        try:
            return lightgbm.Booster(model_file=str(path)), "lightgbm"
        except lightgbm.basic.LightGBMError as exc:
            raise InvalidInput(f"{path} is not a readable LightGBM model: {exc}") from exc
    # A scikit-learn wrapper: MLflow serialises it like a scikit-learn model.
    serialization = section.get("serialization_format")
    return src.serialized(path, serialization or "cloudpickle"), "lightgbm"


def _python_function(src: _Source, section: dict[str, Any]) -> tuple[Any, str]:
    where = src.root / "MLmodel"
    loader = section.get("loader_module")
    if loader == "mlflow.sklearn":
        return _sklearn(src, section)
    if section.get("model_code_path"):
        raise InvalidInput(
            f"{where}: a model from code (model_code_path) runs a Python file to build the model",
            hint="Save the model object instead (python_model=an instance), then import it.",
        )
    if loader != "mlflow.pyfunc.model" or "python_model" not in section:
        raise InvalidInput(
            f"{where}: python_function models with loader_module {loader!r} cannot be imported",
            hint=_SUPPORTED,
        )
    if section.get("artifacts"):
        raise InvalidInput(
            f"{where}: the python_model uses artifacts ({', '.join(section['artifacts'])}), "
            "which loopml does not import",
            hint="Save the model with what the artifacts hold kept inside the python_model.",
        )
    path = src.file(section["python_model"], "python_function")
    if not src.trust_pickle:
        raise InvalidInput(
            f"{path} is a cloudpickle, which runs code when loaded",
            hint="Pass --trust-pickle (trust_pickle=True in Python) if you trust where the "
            "model came from.",
        )
    return MlflowPythonModel(path.read_bytes(), section.get("model_config")), "python_function"


def _check_skops_round_trip(model: Any, path: Path) -> None:
    """Refuse an unpickled estimator that skops would write but could not read back.

    loopml stores scikit-learn models with skops; skops writes a reference to a function
    it cannot import again (a lambda, a function defined in a notebook) and fails on load.
    """
    import skops.io as sio

    try:
        data = sio.dumps(model)
        sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    except Exception as exc:
        raise InvalidInput(
            f"{path}: the model cannot be stored with skops, which could not read it back "
            f"({type(exc).__name__}: {exc})",
            hint="Use functions importable by name (module level, not a lambda or notebook "
            "cell) in the model, then save it with MLflow again.",
        ) from exc


# MLmodel flavour -> reader, in the order they are preferred when a model has several.
_READERS = {
    "sklearn": _sklearn,
    "xgboost": _xgboost,
    "lightgbm": _lightgbm,
    "python_function": _python_function,
}


def _read_mlmodel(root: Path) -> dict[str, Any]:
    try:
        mlmodel = yaml.safe_load((root / "MLmodel").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"{root} is not an MLflow model directory: {exc}",
            hint="Point at the folder holding the MLmodel file.",
        ) from exc
    if not isinstance(mlmodel, dict) or not isinstance(mlmodel.get("flavors") or {}, dict):
        raise InvalidInput(
            f"{root / 'MLmodel'} is not an MLmodel file (no flavors mapping)",
            hint="Point at the folder holding the MLmodel file MLflow wrote.",
        )
    return mlmodel


def import_mlflow_model(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    trust: Iterable[str] = (),
    trust_pickle: bool = False,
) -> SavedModel:
    """Convert an MLflow model directory into a loopml model directory.

    The MLmodel file's flavours are read in this order: ``sklearn`` (skops, pickle or
    cloudpickle) and ``xgboost`` / ``lightgbm`` (native model files; LightGBM's
    scikit-learn wrappers as skops or pickle) become loopml's flavour of the same name;
    a ``python_function`` model with a ``python_model`` becomes a ``python_function``
    model that runs without MLflow. A skops file loads only when every type it holds is
    among skops' trusted defaults or named in ``trust``; pickles (the ``pickle`` and
    ``cloudpickle`` formats and every ``python_model``) run code on load and need
    ``trust_pickle=True``; an unpickled estimator is re-saved with skops, and refused
    when skops could not read it back. MLflow's signature and input example are kept.

    Args:
        path: The MLflow model directory (holding ``MLmodel``).
        out: New directory for the loopml model.
        trust: Types to trust in a skops file beyond skops' defaults (the error for an
            untrusted type names them), e.g. ``["sklearn.tree._tree.Tree"]``.
        trust_pickle: Allow unpickling the MLflow model file.

    Returns:
        The saved loopml model.

    Raises:
        InvalidInput: No MLmodel file, an unsupported flavour, an untrusted skops type,
            a pickle without ``trust_pickle``, or a model file that does not load.
        MissingExtra: The flavour's library (xgboost, lightgbm) is not installed.
    """
    root = Path(path)
    mlmodel = _read_mlmodel(root)
    flavors = mlmodel.get("flavors") or {}
    name = next((n for n in _READERS if isinstance(flavors.get(n), dict)), None)
    if name is None:
        raise InvalidInput(
            f"{root}: MLflow flavour(s) {', '.join(map(str, flavors)) or 'none'} cannot be "
            "imported",
            hint=_SUPPORTED,
        )
    source = _Source(root, frozenset(trust), trust_pickle)
    model, flavor = _READERS[name](source, flavors[name])
    if flavor == "sklearn" and source.unpickled:
        _check_skops_round_trip(model, root)
    signature = signature_from_mlmodel(mlmodel.get("signature"), str(root / "MLmodel"))
    example = example_from_mlmodel(root, mlmodel.get("saved_input_example_info"), signature)
    return save_model(
        model,
        out,
        signature=signature,
        input_example=example,
        flavor=flavor,
        metadata={
            "imported_from": "mlflow",
            "mlflow_flavor": name,
            "mlflow_run_id": mlmodel.get("run_id"),
            "mlflow_version": mlmodel.get("mlflow_version"),
        },
    )
