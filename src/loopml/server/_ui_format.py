"""Value formatting for the UI's templates (Jinja2 filters); pure functions."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable


def when(ms: int | None) -> str:
    """Milliseconds since the epoch as ``YYYY-MM-DD HH:MM:SS`` (UTC); '' for None."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def num(value: Any) -> str:
    """A number in 4 significant digits ('' for None, 'NaN' for NaN); text unchanged."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return f"{value:.4g}"


def short(ident: Any, n: int = 10) -> str:
    """The last ``n`` characters of an id: ids are time-ordered, so their heads repeat
    (ids made in the same minute share their first eight characters)."""
    text = str(ident)
    return text if len(text) <= n else "…" + text[-n:]


def duration(start_ms: int | None, end_ms: int | None) -> str:
    """The time between two stamps as ``1.2 s`` / ``3.4 min`` ('' if either is missing)."""
    if start_ms is None or end_ms is None:
        return ""
    seconds = max(0.0, (end_ms - start_ms) / 1000)
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def size(n: int | None) -> str:
    """A byte count as B/KiB/MiB/GiB."""
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def status_class(status: Any) -> str:
    """A CSS class for a status or outcome value (ok / bad / busy / idle)."""
    text = str(getattr(status, "value", status)).lower()
    if text in ("finished", "succeeded", "success", "passed", "completed", "approved", "ok"):
        return "ok"
    if text in ("failed", "crashed", "denied", "rejected", "error", "firing", "aborted"):
        return "bad"
    if text in ("running", "pending", "queued", "progressing", "canary", "active"):
        return "busy"
    return "idle"


FILTERS: dict[str, Callable[..., str]] = {
    "when": when,
    "num": num,
    "short": short,
    "duration": duration,
    "size": size,
    "status_class": status_class,
}

__all__ = ["FILTERS", "duration", "num", "short", "size", "status_class", "when"]
