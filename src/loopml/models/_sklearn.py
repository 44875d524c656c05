"""scikit-learn flavour: skops (no code runs on load) by default, pickle on request.

Pickle runs code when read, so a pickled model is loaded only after its file's sha256
matched the manifest (and, for registered models, the manifest matched the registry).
skops records which non-standard types the file needs; they are stored in the manifest
when saving, so loading trusts exactly the types the author saved and nothing else.
"""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any, ClassVar

from loopml.errors import InvalidInput, MissingExtra
from loopml.models._flavor import Flavor

if TYPE_CHECKING:
    from pathlib import Path

_SERIALIZATIONS = ("skops", "pickle")


class SklearnFlavor(Flavor):
    """scikit-learn estimators and pipelines (``serialization``: ``skops`` or ``pickle``)."""

    name: ClassVar[str] = "sklearn"
    distributions: ClassVar[tuple[str, ...]] = ("scikit-learn", "numpy", "scipy", "skops")

    @classmethod
    def handles(cls, model: Any) -> bool:
        """Any scikit-learn estimator (``BaseEstimator`` subclass)."""
        from sklearn.base import BaseEstimator

        return isinstance(model, BaseEstimator)

    def save(self, model: Any, directory: Path, options: dict[str, Any]) -> dict[str, Any]:
        """Write ``model.skops`` (or ``model.pkl``)."""
        serialization = options.get("serialization", "skops")
        if serialization not in _SERIALIZATIONS:
            raise InvalidInput(
                f"unknown sklearn serialization {serialization!r}",
                hint=f"Use one of: {', '.join(_SERIALIZATIONS)}.",
            )
        if serialization == "pickle":
            with open(directory / "model.pkl", "wb") as out:
                pickle.dump(model, out, protocol=pickle.HIGHEST_PROTOCOL)
            return {"serialization": "pickle", "file": "model.pkl"}
        sio = _skops()
        data = sio.dumps(model)
        (directory / "model.skops").write_bytes(data)
        return {
            "serialization": "skops",
            "file": "model.skops",
            "trusted_types": sorted(sio.get_untrusted_types(data=data)),
        }

    def load(self, directory: Path, options: dict[str, Any]) -> Any:
        """Read the model back (the directory was verified by the caller)."""
        path = directory / str(options.get("file", "model.skops"))
        if options.get("serialization") == "pickle":
            with open(path, "rb") as handle:
                return pickle.load(handle)
        sio = _skops()
        return sio.load(path, trusted=list(options.get("trusted_types", [])))


def _skops() -> Any:
    from loopml.models._skops_import import import_skops

    try:
        return import_skops()
    except ImportError as exc:
        raise MissingExtra("sklearn", "the skops model format") from exc
