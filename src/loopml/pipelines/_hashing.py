"""Cache keys: digests of a step's code, the project-local code it calls, its
parameters, its inputs and its declared environment."""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import json
import os
import sys
import sysconfig
import textwrap
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import cloudpickle

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from types import CodeType

    from loopml.pipelines._graph import Node

#: Bump when the cache-key recipe changes, so old entries stop matching.
KEY_VERSION = 1


@lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the loopml package
    roots.update(p for p in sys.path if "site-packages" in p or "dist-packages" in p)
    return tuple(sorted(os.path.realpath(r) + os.sep for r in roots))


def _is_project_local(obj: object) -> bool:
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    if module is None:
        return False
    path = getattr(module, "__file__", None)
    if path is None:  # __main__ under `python -c`, notebooks: the user's own code
        return module.__name__ == "__main__"
    real = os.path.realpath(path)
    return not real.startswith(_library_roots())


def _names(code: CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            yield from _names(const)


def _source(obj: Any) -> str:
    try:
        return str(textwrap.dedent(inspect.getsource(obj)))
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None)
        if code is None:
            return repr(obj)
        return f"{code.co_code.hex()}{code.co_consts!r}"


def code_digest(fn: Any) -> str:
    """Digest of ``fn``'s source and of the project-local functions and classes it uses.

    Library code (the standard library, installed packages, loopml) is left out: its
    version belongs in ``requirements``. Unchanged code gives the same digest in every
    process.
    """
    parts: list[str] = []
    seen: set[int] = set()
    _collect(inspect.unwrap(fn), parts, seen)
    return hashlib.sha256("\n\0".join(parts).encode()).hexdigest()


def _collect(obj: Any, parts: list[str], seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    parts.append(f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}")
    parts.append(_source(obj))
    code = getattr(obj, "__code__", None)
    scope = getattr(obj, "__globals__", {})
    if code is None:
        return
    for name in dict.fromkeys(_names(code)):
        ref = scope.get(name)
        inner = getattr(ref, "fn", None) if type(ref).__name__ == "Step" else ref
        if (inspect.isfunction(inner) or inspect.isclass(inner)) and _is_project_local(inner):
            _collect(inner, parts, seen)


def canonical(value: object) -> object:
    """A JSON-able, order-independent stand-in for a parameter value."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda i: str(i[0]))}
    tobytes = getattr(value, "tobytes", None)
    if callable(tobytes):  # numpy arrays
        header = f"{getattr(value, 'dtype', '')}{getattr(value, 'shape', '')}".encode()
        return {"array": hashlib.sha256(header + tobytes()).hexdigest()}
    return {"pickle": hashlib.sha256(cloudpickle.dumps(value)).hexdigest()}


def param_text(value: object) -> str:
    """A short text form of a parameter for the records."""
    text = json.dumps(canonical(value), sort_keys=True)
    return text if len(text) <= 500 else text[:497] + "..."


@lru_cache(maxsize=256)
def environment(requirements: tuple[str, ...]) -> dict[str, str]:
    """Python's version and the installed version of each requirement."""
    env = {"python": f"{sys.version_info.major}.{sys.version_info.minor}"}
    for name in requirements:
        try:
            env[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            env[name] = "not installed"
    return env


def cache_key(node: Node, code: str, inputs: Mapping[str, str]) -> str:
    """The cache key of one node given its code digest and its inputs' digests."""
    recipe = {
        "version": KEY_VERSION,
        "code": code,
        "params": canonical(dict(node.params)),
        "inputs": dict(sorted(inputs.items())),
        "env": environment(node.step.requirements),
        "outputs": node.n_outputs,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()
