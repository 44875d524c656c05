"""Materialisers: how a step output becomes bytes in the artifact store, and back.

Chosen by type: pandas and Arrow tables -> Parquet, numpy arrays -> ``.npy``, JSON-safe
dicts/lists/scalars -> JSON, scikit-learn estimators -> pickle (until a model flavour
exists), anything else -> pickle. Every read goes through the artifact store, which checks
the digest, so a tampered pickle is refused before it is unpickled.
"""

from __future__ import annotations

import io
import json
import pickle
from abc import ABC, abstractmethod
from functools import lru_cache
from typing import Any, ClassVar, cast

from loopml import plugins
from loopml.errors import InvalidInput


class Materialiser(ABC):
    """Turns objects of some types into bytes and back. Subclass it to add a format.

    Set ``name`` (stored with each output, so it must stay stable) and implement
    :meth:`can_save`, :meth:`save` and :meth:`load`; then :func:`register_materialiser`.
    """

    name: ClassVar[str]

    @abstractmethod
    def can_save(self, obj: object) -> bool:
        """True if this materialiser handles ``obj``."""

    @abstractmethod
    def save(self, obj: object) -> bytes:
        """The bytes to store for ``obj`` (the same object must give the same bytes)."""

    @abstractmethod
    def load(self, data: bytes) -> object:
        """The object stored as ``data``."""


class ParquetPandas(Materialiser):
    """pandas DataFrames as Parquet (index and dtypes kept)."""

    name = "pandas.parquet"

    def can_save(self, obj: object) -> bool:
        """True for a pandas DataFrame."""
        return type(obj).__module__.startswith("pandas") and type(obj).__name__ == "DataFrame"

    def save(self, obj: object) -> bytes:
        """Write Parquet bytes."""
        buffer = io.BytesIO()
        obj.to_parquet(buffer)  # type: ignore[attr-defined]
        return buffer.getvalue()

    def load(self, data: bytes) -> object:
        """Read a DataFrame."""
        import pandas as pd

        return pd.read_parquet(io.BytesIO(data))


class ParquetArrow(Materialiser):
    """pyarrow Tables as Parquet."""

    name = "arrow.parquet"

    def can_save(self, obj: object) -> bool:
        """True for a pyarrow Table."""
        return type(obj).__module__.startswith("pyarrow") and type(obj).__name__ == "Table"

    def save(self, obj: object) -> bytes:
        """Write Parquet bytes."""
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(obj, buffer)
        return buffer.getvalue()

    def load(self, data: bytes) -> object:
        """Read a Table."""
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(data))


class Numpy(Materialiser):
    """numpy arrays (not of object dtype) as ``.npy``."""

    name = "numpy.npy"

    def can_save(self, obj: object) -> bool:
        """True for a numpy array whose dtype is not object."""
        kind = getattr(getattr(obj, "dtype", None), "kind", "O")
        return type(obj).__name__ == "ndarray" and kind != "O"

    def save(self, obj: object) -> bytes:
        """Write ``.npy`` bytes."""
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, cast("Any", obj), allow_pickle=False)
        return buffer.getvalue()

    def load(self, data: bytes) -> object:
        """Read the array."""
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)


class Json(Materialiser):
    """dicts, lists and scalars that survive a JSON round trip unchanged."""

    name = "json"

    def can_save(self, obj: object) -> bool:
        """True when JSON gives back an equal object of the same types."""
        if not isinstance(obj, (dict, list, str, int, float, bool, type(None))):
            return False
        try:
            return bool(json.loads(self.save(obj)) == obj)
        except (TypeError, ValueError):
            return False

    def save(self, obj: object) -> bytes:
        """Write compact UTF-8 JSON."""
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode()

    def load(self, data: bytes) -> object:
        """Parse the JSON."""
        return json.loads(data)


class SklearnModel(Materialiser):
    """scikit-learn estimators, pickled (to become the sklearn model flavour)."""

    name = "sklearn.pickle"

    def can_save(self, obj: object) -> bool:
        """True for a scikit-learn estimator."""
        return type(obj).__module__.startswith("sklearn") or (
            hasattr(obj, "get_params") and hasattr(obj, "fit")
        )

    def save(self, obj: object) -> bytes:
        """Pickle the estimator."""
        return pickle.dumps(obj, protocol=5)

    def load(self, data: bytes) -> object:
        """Unpickle the estimator (its digest was checked on read)."""
        return pickle.loads(data)


class Pickle(Materialiser):
    """Anything else, with cloudpickle (digest checked on read)."""

    name = "pickle"

    def can_save(self, obj: object) -> bool:
        """Always True: the fallback."""
        return True

    def save(self, obj: object) -> bytes:
        """Pickle the object."""
        import cloudpickle

        return bytes(cloudpickle.dumps(obj, protocol=5))

    def load(self, data: bytes) -> object:
        """Unpickle the object (its digest was checked on read)."""
        return pickle.loads(data)


@lru_cache(maxsize=1)
def builtin() -> tuple[Materialiser, ...]:
    """The built-in materialisers, in the order of ``plugins.BUILTIN["materialisers"]``."""
    return tuple(plugins.load("materialisers", name)() for name in plugins.BUILTIN["materialisers"])


_registered: list[Materialiser] = []


def register_materialiser(materialiser: Materialiser) -> Materialiser:
    """Add a materialiser; later registrations are tried first, then the built-ins.

    Args:
        materialiser: An instance of a :class:`Materialiser` subclass.

    Returns:
        The materialiser (so it can be used as a decorator on an instance factory).

    Raises:
        InvalidInput: It is not a Materialiser or its name is taken by a built-in.
    """
    if not isinstance(materialiser, Materialiser):
        raise InvalidInput(
            f"{materialiser!r} is not a Materialiser",
            hint="Subclass loopml.pipelines.Materialiser and register an instance.",
        )
    if any(m.name == materialiser.name for m in builtin()):
        raise InvalidInput(f"materialiser name {materialiser.name!r} is built in; pick another")
    _registered[:] = [m for m in _registered if m.name != materialiser.name]
    _registered.insert(0, materialiser)
    return materialiser


def registered() -> tuple[Materialiser, ...]:
    """User-registered materialisers, most recent first (shipped to workers with each task)."""
    return tuple(_registered)


def choose(obj: object, extra: tuple[Materialiser, ...] = ()) -> Materialiser:
    """The first materialiser that handles ``obj``: registered ones, then built-ins."""
    for candidate in (*extra, *_registered, *builtin()):
        if candidate.can_save(obj):
            return candidate
    raise AssertionError("the pickle fallback handles everything")  # pragma: no cover


def by_name(name: str, extra: tuple[Materialiser, ...] = ()) -> Materialiser:
    """The materialiser called ``name``; InvalidInput if none is known here."""
    for candidate in (*extra, *_registered, *builtin()):
        if candidate.name == name:
            return candidate
    raise InvalidInput(
        f"no materialiser called {name!r} is registered in this process",
        hint="Register it (register_materialiser) before loading outputs it wrote.",
    )
