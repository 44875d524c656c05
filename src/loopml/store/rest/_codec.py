"""JSON codecs for the Store's values, derived from type hints (server and client share it).

``encode(value, hint)`` turns an entity, enum, ObjectRef, mapping, sequence or scalar into
JSON-able data; ``decode(data, hint)`` rebuilds it and raises :class:`InvalidInput` for
data that does not fit the hint, so a malformed request body is a 400/422, never a 500.
Floats that JSON cannot carry (NaN, infinities) travel as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"``.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import functools
import math
import sys
import types
import typing
from typing import Any

import loopml.entities as entities
from loopml import ids
from loopml.errors import InvalidInput, InvalidReference
from loopml.ids import ObjectRef

_NS: dict[str, Any] = {
    **vars(typing),
    **vars(collections.abc),
    **vars(ids),
    **vars(entities),
    "MetricRow": tuple[str, str, int, int, float | None],
}


#: Integers travel as signed 64-bit (what both databases store).
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def namespace() -> dict[str, Any]:
    """Names type hints of the Store protocols and entities resolve against."""
    return _NS


@functools.cache
def field_hints(cls: type) -> dict[str, Any]:
    """The resolved type hints of an entity dataclass's fields."""
    module = sys.modules.get(cls.__module__)
    return typing.get_type_hints(cls, globalns={**_NS, **vars(module or typing)})


def _float_out(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _plain(value: Any) -> Any:
    """JSON-able form of a value whose hint says nothing (``Any``, ``object``); a NaN stays
    a float (Python's JSON carries it), so the receiver judges it as the caller gave it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, ObjectRef):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode(value, type(value))
    if isinstance(value, collections.abc.Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


def encode(value: Any, hint: Any) -> Any:
    """JSON-able form of ``value`` as typed by ``hint``."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if hint in (Any, object) or isinstance(hint, typing.TypeVar):
        return _plain(value)
    if origin in (typing.Union, types.UnionType):
        return _plain(value) if not dataclasses.is_dataclass(value) else encode(value, type(value))
    if origin is typing.Literal:
        return value
    if origin in (tuple, list, collections.abc.Sequence, set, frozenset, collections.abc.Set):
        args = typing.get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            return [encode(v, a) for v, a in zip(value, args, strict=False)]
        item = args[0] if args else Any
        return [encode(v, item) for v in value]
    if origin in (dict, collections.abc.Mapping):
        args = typing.get_args(hint)
        item = args[1] if args else Any
        return {str(k): encode(v, item) for k, v in value.items()}
    if hint is ObjectRef:
        return str(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return value.value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = field_hints(typing.cast("type", type(value)))
        out = {"$type": type(value).__name__}
        for f in dataclasses.fields(value):
            if f.init:
                out[f.name] = encode(getattr(value, f.name), hints[f.name])
        return out
    if hint is float:
        return _float_out(float(value))
    return value


def _unencodable(value: Any) -> Any:
    raise InvalidInput(
        f"a value of type {type(value).__name__} cannot be sent as JSON",
        hint="Pass strings, numbers, booleans, lists and mappings of them.",
    )


def dumps(data: Any) -> str:
    """JSON text of encoded data (InvalidInput for what JSON cannot carry)."""
    import json

    return json.dumps(data, default=_unencodable)


def _bad(data: Any, hint: Any, where: str) -> InvalidInput:
    shown = repr(data)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    name = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
    return InvalidInput(
        f"{where or 'the value'} must be {name}, got {shown}",
        hint="See the request schema at /openapi.json.",
        field=where,
    )


def decode(data: Any, hint: Any, where: str = "") -> Any:
    """Rebuild a value of type ``hint`` from its JSON form.

    Raises:
        InvalidInput: ``data`` does not fit ``hint`` (names the field in ``where``).
    """
    origin = typing.get_origin(hint)
    if hint in (Any, object) or isinstance(hint, typing.TypeVar):
        return data
    if hint is None or hint is type(None):
        if data is not None:
            raise _bad(data, hint, where)
        return None
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if data is None:
            if type(None) in args:
                return None
            raise _bad(data, hint, where)
        members = [a for a in args if a is not type(None)]
        if isinstance(data, dict) and "$type" in data:
            for member in members:
                if isinstance(member, type) and member.__name__ == data["$type"]:
                    return decode(data, member, where)
        last: InvalidInput | None = None
        for member in members:
            try:
                return decode(data, member, where)
            except InvalidInput as exc:
                last = exc
        raise last or _bad(data, hint, where)
    if origin is typing.Literal:
        if data not in typing.get_args(hint):
            raise _bad(data, hint, where)
        return data
    if origin in (tuple, list, collections.abc.Sequence, set, frozenset, collections.abc.Set):
        if not isinstance(data, list):
            raise _bad(data, hint, where)
        args = typing.get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(data) != len(args):
                raise _bad(data, hint, where)
            return tuple(
                decode(v, a, f"{where}[{i}]")
                for i, (v, a) in enumerate(zip(data, args, strict=True))
            )
        item = args[0] if args else Any
        items = [decode(v, item, f"{where}[{i}]") for i, v in enumerate(data)]
        if origin is list:
            return items
        return (
            frozenset(items)
            if origin in (frozenset, collections.abc.Set)
            else (set(items) if origin is set else tuple(items))
        )
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(data, dict):
            raise _bad(data, hint, where)
        args = typing.get_args(hint)
        key, item = args if args else (Any, Any)
        return {decode(k, key, where): decode(v, item, f"{where}.{k}") for k, v in data.items()}
    if hint is ObjectRef:
        if not isinstance(data, str):
            raise _bad(data, hint, where)
        try:
            return ObjectRef.parse(data)
        except InvalidReference as exc:
            raise InvalidInput(f"{where or 'the value'}: {exc.message}", field=where) from None
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(data)
        except (ValueError, TypeError):
            raise _bad(data, hint, where) from None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(data, dict):
            raise _bad(data, hint, where)
        hints = field_hints(hint)
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(hint):
            if not f.init:
                continue
            if f.name in data:
                kwargs[f.name] = decode(
                    data[f.name], hints[f.name], f"{where}.{f.name}".lstrip(".")
                )
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise InvalidInput(
                    f"{where or hint.__name__} lacks the field {f.name!r}",
                    hint="See the request schema at /openapi.json.",
                    field=f"{where}.{f.name}".lstrip("."),
                )
        try:
            return hint(**kwargs)
        except InvalidInput:
            raise
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{where or hint.__name__}: {exc}", field=where) from None
    if hint is float:
        if isinstance(data, bool):
            raise _bad(data, hint, where)
        if isinstance(data, (int, float)):
            return float(data)
        if data in ("NaN", "Infinity", "-Infinity"):
            return float(data.replace("Infinity", "inf"))
        raise _bad(data, hint, where)
    if hint is int:
        if isinstance(data, bool) or not isinstance(data, int) or not _INT_MIN <= data <= _INT_MAX:
            raise _bad(data, hint, where)
        return data
    if hint is bool:
        if not isinstance(data, bool):
            raise _bad(data, hint, where)
        return data
    if hint is str:
        if not isinstance(data, str):
            raise _bad(data, hint, where)
        return data
    return data


def json_schema(hint: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema for ``hint`` (entity schemas collected into ``defs``)."""
    origin = typing.get_origin(hint)
    if hint in (Any, object) or isinstance(hint, typing.TypeVar):
        return {}
    if hint is None or hint is type(None):
        return {"type": "null"}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [json_schema(a, defs) for a in typing.get_args(hint)]}
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(hint))}
    if origin in (tuple, list, collections.abc.Sequence, set, frozenset, collections.abc.Set):
        args = typing.get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            return {
                "type": "array",
                "prefixItems": [json_schema(a, defs) for a in args],
                "minItems": len(args),
                "maxItems": len(args),
            }
        return {"type": "array", "items": json_schema(args[0] if args else Any, defs)}
    if origin in (dict, collections.abc.Mapping):
        args = typing.get_args(hint)
        return {
            "type": "object",
            "additionalProperties": json_schema(args[1] if args else Any, defs),
        }
    if hint is ObjectRef:
        return {"type": "string", "description": "kind:id"}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"type": "string", "enum": [m.value for m in hint]}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        name = hint.__name__
        if name not in defs:
            defs[name] = {}
            hints = field_hints(hint)
            fields = [f for f in dataclasses.fields(hint) if f.init]
            defs[name] = {
                "type": "object",
                "properties": {
                    "$type": {"type": "string", "enum": [name]},
                    **{f.name: json_schema(hints[f.name], defs) for f in fields},
                },
                "required": [
                    f.name
                    for f in fields
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                ],
            }
        return {"$ref": f"#/components/schemas/{name}"}
    if hint is float:
        return {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]},
            ]
        }
    if hint is int:
        return {"type": "integer", "minimum": _INT_MIN, "maximum": _INT_MAX}
    if hint is bool:
        return {"type": "boolean"}
    if hint is str:
        return {"type": "string"}
    return {}
