"""Generic Python-function flavour: any object with ``predict`` (e.g. a PythonModel)."""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any, ClassVar

from loopml.errors import InvalidInput
from loopml.models._flavor import Flavor

if TYPE_CHECKING:
    from pathlib import Path


class PythonModel:
    """Base class for custom models saved with the ``python_function`` flavour.

    Override :meth:`predict`; the object is pickled (its class must be importable where it
    is loaded) and loaded only after its digest was verified.

    Example:
        >>> class Doubler(PythonModel):
        ...     def predict(self, data):
        ...         return [2 * x for x in data]
        >>> Doubler().predict([1, 2])
        [2, 4]
    """

    def predict(self, data: Any) -> Any:
        """Return predictions for ``data``."""
        raise NotImplementedError


class PythonFunctionFlavor(Flavor):
    """Any picklable object with a ``predict`` method."""

    name: ClassVar[str] = "python_function"
    distributions: ClassVar[tuple[str, ...]] = ("numpy", "pandas")

    @classmethod
    def handles(cls, model: Any) -> bool:
        """Objects with a callable ``predict``."""
        return callable(getattr(model, "predict", None))

    def save(self, model: Any, directory: Path, options: dict[str, Any]) -> dict[str, Any]:
        """Pickle the object to ``python_model.pkl``."""
        if not self.handles(model):
            raise InvalidInput(
                f"a {type(model).__qualname__} has no predict() method",
                hint="Subclass loopml.models.PythonModel and implement predict(data).",
            )
        try:
            data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise InvalidInput(
                f"cannot pickle the {type(model).__qualname__} model: {exc}",
                hint="Define the class at module level (not inside a function) so it pickles.",
            ) from exc
        (directory / "python_model.pkl").write_bytes(data)
        return {"file": "python_model.pkl"}

    def load(self, directory: Path, options: dict[str, Any]) -> Any:
        """Unpickle the object (after digest verification)."""
        with open(directory / str(options.get("file", "python_model.pkl")), "rb") as handle:
            return pickle.load(handle)
