"""The Flavor base class users subclass, and the name -> "module:attr" table of flavours."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from loopml import plugins
from loopml.errors import InvalidInput, MissingExtra

if TYPE_CHECKING:
    from pathlib import Path


class Flavor(ABC):
    """How one kind of model is written to and read from a directory.

    Subclass it for a new kind of model and add it with :func:`register_flavor`.
    ``save`` writes files into an empty directory and returns the options ``load`` needs
    (they are stored in the manifest); loading happens only after every file's digest
    was verified.
    """

    #: Registry name, e.g. ``"sklearn"``.
    name: ClassVar[str] = ""
    #: Distributions whose installed versions are pinned in the model's requirements.
    distributions: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def handles(cls, model: Any) -> bool:
        """Tell whether this flavour can save ``model`` (used when no flavour is named)."""
        return False

    @abstractmethod
    def save(self, model: Any, directory: Path, options: dict[str, Any]) -> dict[str, Any]:
        """Write ``model`` into ``directory``; return the options to store for loading."""

    @abstractmethod
    def load(self, directory: Path, options: dict[str, Any]) -> Any:
        """Read the model back from a verified ``directory``."""

    def predict(self, model: Any, data: Any) -> np.ndarray:
        """Predictions (labels or values) for ``data``."""
        return np.asarray(model.predict(data))

    def predict_proba(self, model: Any, data: Any) -> np.ndarray:
        """Class probabilities for ``data``; InvalidInput when the model has none."""
        method = getattr(model, "predict_proba", None)
        if method is None:
            raise InvalidInput(
                f"a {type(model).__name__} model gives no class probabilities",
                hint="Use predict(), or a classifier with predict_proba.",
            )
        return np.asarray(method(data))

    def has_proba(self, model: Any) -> bool:
        """Tell whether :meth:`predict_proba` works for ``model``."""
        return callable(getattr(model, "predict_proba", None))


# Order in which flavours are asked whether they handle an object.
_DETECT = ("xgboost", "lightgbm", "sklearn", "python_function")


def register_flavor(name: str, flavor: str | type[Flavor]) -> None:
    """Add (or replace) a flavour under ``name``.

    Args:
        name: The name used in ``save_model(..., flavor=name)`` and in manifests.
        flavor: A Flavor subclass or its ``"module:attr"`` path (imported on first use).
    """
    if not name or not name.replace("_", "").isalnum():
        raise InvalidInput(f"invalid flavour name {name!r}", hint="Use letters, digits and _.")
    plugins.register("flavors", name, flavor)


def flavor_names() -> list[str]:
    """Names of every registered flavour (``plugins.BUILTIN["flavors"]`` and additions)."""
    return plugins.names("flavors")


def get_flavor(name: str) -> Flavor:
    """Return an instance of the flavour named ``name``.

    Raises:
        InvalidInput: No flavour has that name.
        MissingExtra: The flavour's optional dependency is not installed.
    """
    if name not in flavor_names():
        raise InvalidInput(
            f"unknown model flavour {name!r}",
            hint=f"Use one of: {', '.join(flavor_names())}, or register_flavor() your own.",
        )
    try:
        target = plugins.load("flavors", name)
    except MissingExtra:  # the extra is named already (MissingExtra is an ImportError)
        raise
    except ImportError as exc:
        raise MissingExtra(name, f"the {name} model flavour") from exc
    if not (isinstance(target, type) and issubclass(target, Flavor)):
        raise InvalidInput(f"flavour {name!r} ({target!r}) is not a Flavor subclass")
    return target()


def detect_flavor(model: Any) -> str:
    """Name the flavour that saves ``model``; InvalidInput when none does."""
    module = type(model).__module__.split(".")[0]
    for name in _DETECT:
        if name in ("xgboost", "lightgbm") and module != name:
            continue
        if type(get_flavor(name)).handles(model):
            return name
    for name, target in plugins.registered("flavors").items():
        if name not in _DETECT and not isinstance(target, str) and target.handles(model):
            return name
    raise InvalidInput(
        f"no model flavour can save an object of type {type(model).__qualname__}",
        hint="Pass a scikit-learn, XGBoost or LightGBM model, an object with a predict() "
        "method (python_function), or name a flavour with flavor=.",
    )


def qualified_name(obj: Any) -> str:
    """``module.Class`` of an object."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"
