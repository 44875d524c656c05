"""Errors over HTTP: one class -> status table, the JSON body, and the way back.

The server answers every :class:`~loopml.errors.LoopmlError` with
``{"error": kind, "message", "hint", ...fields}`` and the status of :func:`status_of`;
:func:`error_from` turns that body back into the SAME exception class with the same
message, hint and fields, so ``except NotFound`` works unchanged against a server.
"""

from __future__ import annotations

import json
from typing import Any

from loopml import errors as e

#: Class -> HTTP status; a subclass takes its nearest listed ancestor's.
STATUS: dict[type[e.LoopmlError], int] = {
    e.InvalidInput: 400,
    e.NotFound: 404,
    e.Conflict: 409,
    e.CheckFailed: 422,
    e.Unauthenticated: 401,
    e.PermissionDenied: 403,
    e.DigestMismatch: 409,
    e.StoreUnavailable: 503,
    e.StoreBusy: 503,
    e.StoreError: 500,
    e.PipelineFailed: 422,
    e.HomeNotWritable: 500,
    e.Overloaded: 503,
    e.DeadlineExceeded: 504,
    e.MissingExtra: 501,
    e.LoopmlError: 400,
}


def status_of(exc: e.LoopmlError) -> int:
    """The HTTP status of an error (its class's, or its nearest ancestor's)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def _classes() -> dict[str, type[e.LoopmlError]]:
    out: dict[str, type[e.LoopmlError]] = {}
    for value in vars(e).values():
        if isinstance(value, type) and issubclass(value, e.LoopmlError):
            out[value.__name__] = value
    return out


_CLASSES = _classes()


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def error_body(exc: e.LoopmlError) -> dict[str, Any]:
    """The JSON body the server answers ``exc`` with."""
    body: dict[str, Any] = {
        key: _jsonable(value)
        for key, value in exc.fields.items()
        if key not in ("error", "message", "hint")
    }
    kind = type(exc).__name__ if type(exc).__name__ in _CLASSES else "LoopmlError"
    body.update(error=kind, message=exc.message, hint=exc.hint)
    return body


def error_from(status: int, body: Any) -> e.LoopmlError:
    """The exception a server's error answer stands for (same class, message and fields)."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        text = json.dumps(body)[:300] if body is not None else ""
        if status in (502, 503, 504):
            return e.StoreUnavailable(
                f"the loopml server answered {status}: {text}",
                hint="Retry later; check the server and any proxy in front of it.",
            )
        if status == 422:  # FastAPI's own validation answer
            return e.InvalidInput(f"the server refused the request (422): {text}")
        return e.StoreError(f"the loopml server answered {status}: {text}")
    cls = _CLASSES.get(body["error"], e.LoopmlError)
    fields = {k: v for k, v in body.items() if k not in ("error", "message", "hint")}
    exc = cls.__new__(cls)
    e.LoopmlError.__init__(exc, str(body.get("message", "")), hint=body.get("hint"), **fields)
    for key, value in fields.items():
        if not hasattr(type(exc), key):
            setattr(exc, key, value)
    return exc
