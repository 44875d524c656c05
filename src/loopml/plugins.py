"""Plugin tables: name -> ``"module:attr"``, resolved lazily.

A heavy optional dependency (Dask, ...) is imported only when its plugin is selected; a
missing one raises :class:`~loopml.errors.MissingExtra` naming the extra to install.
Third-party packages add entries through entry points (group ``loopml.<kind>``, e.g.
``loopml.executors``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from typing import Any, Final

from loopml.errors import InvalidInput, MissingExtra

#: Built-in plugins per kind: name -> ("module:attr", extra or None, module the extra brings).
BUILTIN: Final[dict[str, dict[str, tuple[str, str | None, str | None]]]] = {
    "executors": {
        "local": ("loopml.pipelines:LocalExecutor", None, None),
        "dask": ("loopml.pipelines:DaskExecutor", "dask", "distributed"),
    },
}


def names(kind: str) -> list[str]:
    """Every plugin name of ``kind``: built-ins and entry points, sorted."""
    found = set(BUILTIN.get(kind, {}))
    found.update(ep.name for ep in importlib.metadata.entry_points(group=f"loopml.{kind}"))
    return sorted(found)


def load(kind: str, name: str) -> Any:
    """Import and return the plugin ``name`` of ``kind``.

    Args:
        kind: Plugin kind, e.g. ``"executors"``.
        name: Plugin name, e.g. ``"dask"``.

    Returns:
        The object the entry names (usually a class).

    Raises:
        InvalidInput: No plugin of that name is known.
        MissingExtra: The plugin needs an optional dependency that is not installed.
    """
    entry = BUILTIN.get(kind, {}).get(name)
    if entry is None:
        for ep in importlib.metadata.entry_points(group=f"loopml.{kind}"):
            if ep.name == name:
                return _load_entry_point(ep, kind)
        raise InvalidInput(
            f"unknown {kind[:-1] if kind.endswith('s') else kind} {name!r}",
            hint=f"Known: {', '.join(names(kind)) or 'none'}.",
            kind=kind,
            name=name,
        )
    target, extra, needs = entry
    if needs is not None and importlib.util.find_spec(needs) is None:
        raise MissingExtra(extra or needs, f"the {name!r} {kind[:-1]}")
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def _load_entry_point(ep: importlib.metadata.EntryPoint, kind: str) -> Any:
    """Load a third-party plugin; a module that cannot be imported is a MissingExtra."""
    try:
        return ep.load()
    except ImportError as exc:
        package = ep.dist.name if ep.dist is not None else ep.module
        error = MissingExtra(package, f"the {ep.name!r} {kind[:-1]} (entry point {ep.value})")
        error.hint = (
            f"Its module cannot be imported ({exc}); install or repair the package "
            f"that provides it ({package})."
        )
        raise error from exc
