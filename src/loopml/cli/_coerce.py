"""Converting command-line values of plain types without pydantic.

Typer (0.29) converts every parameter through a pydantic ``TypeAdapter``, so every command,
even ``loopml --home X db status``, imported pydantic and built an adapter per parameter:
80-150 ms before the command started. :func:`install` gives the parameters of plain types
(``str``, ``int``, ``float``, ``bool``, ``Path``, optional or in a list) a converter that
accepts the values those adapters accept without doubt (``"12"`` for an int). Anything
else (an out-of-range number, ``"1e3"`` for an int, an enum, a custom parser) goes to
Typer's own conversion, so errors read exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args, get_origin

from typer import _click
from typer._param_types import coerce_cli_path

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

Leaf = Callable[[Any, Any, Any], Any]


class _Unsure(Exception):
    """The value is not one the fast path converts beyond doubt: let Typer do it."""


def _number(kind: type, pattern: re.Pattern[str], info: Any) -> Leaf:
    def convert(value: Any, _param: Any, _ctx: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (str, int, kind)):
            raise _Unsure
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise _Unsure
        value = kind(value)
        if (info.min is not None and value < info.min) or (
            info.max is not None and value > info.max
        ):
            raise _Unsure
        return value

    return convert


def _same(kind: type) -> Leaf:
    def convert(value: Any, _param: Any, _ctx: Any) -> Any:
        if not isinstance(value, kind):
            raise _Unsure
        return value

    return convert


def _path(kind: type[Path], info: Any) -> Leaf:
    def convert(value: Any, param: Any, ctx: Any) -> Any:
        path = kind(value) if isinstance(value, str) else value
        if not isinstance(path, kind):
            raise _Unsure
        return coerce_cli_path(path, info, path_type=kind, param=param, ctx=ctx)

    return convert


def _leaf(annotation: Any, info: Any) -> Leaf | None:
    if getattr(info, "parser", None) is not None or getattr(info, "clamp", False):
        return None
    if annotation is bool or annotation is str:
        return _same(annotation)
    if annotation is int:
        return _number(int, _INT, info)
    if annotation is float:
        return _number(float, _FLOAT, info)
    if (
        isinstance(annotation, type)
        and issubclass(annotation, Path)
        and getattr(info, "path_type", None) is None
    ):
        return _path(annotation, info)
    return None


class FastConversion:
    """Stands in for Typer's runtime conversion of one parameter (see the module docstring)."""

    def __init__(self, leaf: Leaf, many: bool) -> None:
        self._leaf = leaf
        self._many = many

    def coerce(self, value: Any, param: Any, ctx: _click.Context) -> Any:
        """Convert ``value``; a value the fast path is unsure of goes to Typer's conversion."""
        multi = param.multiple or param.nargs == -1
        if value is None:
            return () if multi else None
        try:
            if multi and isinstance(value, str):
                raise _Unsure
            if self._many:
                items = value if isinstance(value, (list, tuple)) else [value]
                return [self._leaf(item, param, ctx) for item in items]
            return self._leaf(value, param, ctx)
        except _Unsure:
            param._runtime_param = None  # Typer builds its own on the next call
            return param.get_runtime_param().coerce(value, param=param, ctx=ctx)


def _conversion(param: Any) -> FastConversion | None:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(descriptor, "file_annotation", None) is not None:
        return None
    annotation, info = descriptor.annotation, descriptor.parameter_info
    many = get_origin(annotation) is list
    if many:
        (annotation,) = get_args(annotation) or (None,)
    leaf = _leaf(annotation, info)
    return None if leaf is None else FastConversion(leaf, many)


def _install_param(param: Any) -> None:
    if getattr(param, "_runtime_param", "absent") is None:
        conversion = _conversion(param)
        if conversion is not None:
            param._runtime_param = conversion


def install(command: _click.Command) -> None:
    """Give ``command``'s parameters (and its sub-commands', recursively) the fast path."""
    for param in command.params:
        _install_param(param)
    original = command.get_help_option

    def get_help_option(ctx: _click.Context) -> Any:  # made per command on first use
        option = original(ctx)
        _install_param(option)
        return option

    setattr(command, "get_help_option", get_help_option)  # noqa: B010 - an instance override
    for sub in getattr(command, "commands", {}).values():
        install(sub)
