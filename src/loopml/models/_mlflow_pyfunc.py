"""An MLflow ``python_model`` (cloudpickled by MLflow) run without MLflow installed.

MLflow pickles the user's class by value, with ``mlflow.pyfunc.PythonModel`` as its base
and MLflow's input-validation wrapper around ``predict``. Unpickling maps the base to a
small stand-in and every other ``mlflow.*`` name to an inert placeholder, then unwraps
``predict``, so the user's own code runs as it did under MLflow, with a DataFrame input.
A pickle runs code when loaded: this is only reached after the user trusted the pickle
(``--trust-pickle``) and, for a registered model, after its digest was verified.
"""

from __future__ import annotations

import importlib
import inspect
import io
import pickle
import types
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Mapping


class _PythonModelBase:
    """Stands in for ``mlflow.pyfunc.PythonModel`` (the base of the user's class)."""

    def load_context(self, context: Any) -> None:
        """MLflow's default: nothing to load."""


class _Placeholder:
    """Stands in for any other MLflow object a pickled model refers to; inert until called."""

    _mlflow_name = "mlflow"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args

    def __setstate__(self, state: Any) -> None:
        self._state = state

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise InvalidInput(
            f"the imported MLflow python_model calls {self._mlflow_name}, which is MLflow code",
            hint="Re-save the model so that predict() does not depend on MLflow internals.",
        )


def _placeholder(module: str, name: str) -> type[_Placeholder]:
    return type(name, (_Placeholder,), {"_mlflow_name": f"{module}.{name}"})


def _is_mlflow(module: str) -> bool:
    return module == "mlflow" or module.startswith("mlflow.")


def _subimport(name: str) -> types.ModuleType:
    """cloudpickle's ``subimport`` that yields an empty module for MLflow's own."""
    if _is_mlflow(name):
        return types.ModuleType(name)
    return importlib.import_module(name)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if _is_mlflow(module):
            return _PythonModelBase if name == "PythonModel" else _placeholder(module, name)
        if module.startswith("cloudpickle") and name == "subimport":
            return _subimport
        return super().find_class(module, name)


class _Context:
    """What MLflow passes as ``context``: artifacts (none are imported) and model_config."""

    def __init__(self, model_config: Mapping[str, Any]) -> None:
        self.artifacts: dict[str, str] = {}
        self.model_config = dict(model_config)


def _unwrap(model: Any) -> None:
    """Take MLflow's validation wrapper off ``predict`` (it calls MLflow internals)."""
    cls = type(model)
    predict: Any = cls.__dict__.get("predict")
    if getattr(predict, "_is_pyfunc", False) and hasattr(predict, "__wrapped__"):
        cls.predict = predict.__wrapped__


class MlflowPythonModel:
    """An MLflow ``python_model``, imported by :func:`loopml.registry.import_mlflow_model`.

    It keeps MLflow's pickle unchanged (so re-saving it writes the same bytes) and calls
    the model's ``predict`` the way MLflow does: ``predict(context, data)`` or
    ``predict(data)``, plus ``params=None`` when the method takes it. Data is a DataFrame
    (MLflow's input conversion for type-hinted ``predict`` methods is not applied).

    Args:
        payload: The bytes of MLflow's ``python_model.pkl``. Unpickling runs code: pass
            only bytes from a source you trust.
        model_config: MLflow's ``model_config``, given to the model as ``context``.

    Raises:
        InvalidInput: The bytes do not unpickle or the object has no ``predict``.
    """

    def __init__(self, payload: bytes, model_config: Mapping[str, Any] | None = None) -> None:
        self.payload = payload
        self.model_config = dict(model_config or {})
        try:
            self.python_model = _Unpickler(io.BytesIO(payload)).load()
        except Exception as exc:
            raise InvalidInput(
                f"cannot unpickle the MLflow python_model: {type(exc).__name__}: {exc}",
                hint="Install the packages the model imports, in the versions it was saved "
                "with (see its requirements.txt).",
            ) from exc
        if not callable(getattr(self.python_model, "predict", None)):
            raise InvalidInput(
                f"the MLflow python_model (a {type(self.python_model).__qualname__}) has no "
                "predict() method"
            )
        _unwrap(self.python_model)
        self.context = _Context(self.model_config)
        load_context = getattr(self.python_model, "load_context", None)
        if callable(load_context):
            load_context(self.context)
        names = [p for p in inspect.signature(self.python_model.predict).parameters]
        self._params = "params" in names
        inputs = [p for p in names if p not in ("self", "params")]
        self._context_arg = "context" in names or len(inputs) == 2

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.payload, self.model_config))

    def __repr__(self) -> str:
        return f"MlflowPythonModel({type(self.python_model).__qualname__})"

    def predict(self, data: Any) -> Any:
        """Run the model's ``predict`` on ``data``, as MLflow's pyfunc wrapper does."""
        kwargs = {"params": None} if self._params else {}
        if self._context_arg:
            return self.python_model.predict(self.context, data, **kwargs)
        return self.python_model.predict(data, **kwargs)
