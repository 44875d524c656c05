"""Import ``skops.io`` without its 0.8 s scan of every scikit-learn estimator.

On import, skops builds its default list of trusted types by calling scikit-learn's
``all_estimators()``, which imports every module of scikit-learn: it was most of the
time a prediction server took to become ready. The list depends only on the installed
scikit-learn, so it is computed once the normal way, kept in the user's cache folder keyed
by the scikit-learn and skops versions, and handed to skops on later imports. Only names
under ``sklearn.`` are read back (skops keeps only those), and any problem with the cache
falls back to the normal import.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    versions = f"{metadata.version('scikit-learn')}-{metadata.version('skops')}"
    return Path(base) / "loopml" / "skops" / f"estimators-{versions}.json"


def _read(path: Path) -> list[tuple[str, str, str]] | None:
    try:
        rows = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(rows, list):
        return None
    out = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 3 and all(isinstance(x, str) for x in row)):
            return None
        if not row[1].startswith("sklearn."):
            return None
        out.append((row[0], row[1], row[2]))
    return out


def _write(path: Path, estimators: list[tuple[str, type]]) -> None:
    rows = [[name, cls.__module__, cls.__name__] for name, cls in estimators]
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(rows))
        os.replace(tmp, path)


@contextlib.contextmanager
def _estimators_from(rows: list[tuple[str, str, str]]) -> Iterator[None]:
    import sklearn.utils

    stand_ins = [
        (name, type(qualname, (), {"__module__": module})) for name, module, qualname in rows
    ]
    real = sklearn.utils.all_estimators

    def cached(type_filter: Any = None) -> list[tuple[str, type]]:
        return list(stand_ins) if type_filter is None else real(type_filter)

    sklearn.utils.all_estimators = cached
    try:
        yield
    finally:
        sklearn.utils.all_estimators = real


def import_skops() -> Any:
    """``skops.io``, imported with the cached estimator list when there is one."""
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    try:
        path = _cache_file()
    except metadata.PackageNotFoundError:
        path = None
    rows = None if path is None else _read(path)
    if rows is not None:
        with _estimators_from(rows):
            import skops.io as sio
        return sio
    import skops.io as sio

    if path is not None:
        from sklearn.utils import all_estimators

        _write(path, all_estimators())
    return sio
