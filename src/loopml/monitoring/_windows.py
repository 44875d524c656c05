"""Window plans: tumbling or sliding, by row count or by time.

``parse_window("1000")`` is a tumbling window of 1,000 rows, ``"1000/250"`` a sliding one
that advances by 250 rows, ``"1h"`` a tumbling hour (aligned to the epoch, so windows
computed on different days line up), ``"1h/15m"`` an hour sliding by quarters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)\s*$")


@dataclass(frozen=True)
class Windowing:
    """How a stream is cut into windows.

    Attributes:
        by: ``count`` (rows) or ``time`` (milliseconds of ``time_ms``).
        size: Rows, or milliseconds, per window.
        step: How far consecutive windows start apart (``size``: tumbling).
    """

    by: str
    size: int
    step: int

    @property
    def kind(self) -> str:
        """``tumbling`` or ``sliding``."""
        return "tumbling" if self.step == self.size else "sliding"

    def describe(self) -> str:
        """The plan as text parse_window reads back."""

        def one(value: int) -> str:
            if self.by == "count":
                return str(value)
            for unit in ("d", "h", "m", "s"):
                if value % _UNITS_MS[unit] == 0:
                    return f"{value // _UNITS_MS[unit]}{unit}"
            return f"{value}ms"

        text = one(self.size)
        return text if self.step == self.size else f"{text}/{one(self.step)}"


def _amount(text: str, whole: str) -> tuple[str, int]:
    if text.strip().isdigit():
        return "count", int(text)
    match = _DURATION.match(text)
    if match is None:
        raise InvalidInput(
            f"window {whole!r} is neither a row count nor a duration",
            hint="Use 1000 (rows), 1000/250 (sliding rows), 1h, 30m or 1h/15m.",
        )
    return "time", int(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_window(text: str | Windowing) -> Windowing:
    """Read a window plan: ``N``, ``N/STEP``, ``DURATION`` or ``DURATION/STEP``."""
    if isinstance(text, Windowing):
        return text
    size_text, _, step_text = str(text).partition("/")
    by, size = _amount(size_text, str(text))
    step_by, step = _amount(step_text, str(text)) if step_text else (by, size)
    if step_by != by or size <= 0 or step <= 0 or step > size:
        raise InvalidInput(
            f"window {text!r}: size and step must be of one kind, positive, step <= size",
            hint="For example 1000/250 or 1h/15m.",
        )
    return Windowing(by, size, step)


def window_slices(
    times_ms: npt.NDArray[np.int64], plan: Windowing
) -> list[tuple[int, int, int, int]]:
    """``(lo, hi, start_ms, end_ms)`` per window over rows sorted by time.

    Rows ``lo:hi`` belong to the window; for time windows ``[start_ms, end_ms)`` is the
    window's span, for count windows the first and one past the last row's time. Empty
    time windows are left out; a count window is only complete when it has ``size`` rows
    (the trailing partial window is included, so the latest rows are always seen).
    """
    import numpy as np

    n = len(times_ms)
    if n == 0:
        return []
    out: list[tuple[int, int, int, int]] = []
    if plan.by == "count":
        starts = list(range(0, max(n - plan.size, 0) + 1, plan.step))
        if starts[-1] + plan.size < n:
            starts.append(starts[-1] + plan.step)
        for lo in starts:
            hi = min(lo + plan.size, n)
            out.append((lo, hi, int(times_ms[lo]), int(times_ms[hi - 1]) + 1))
        return out
    # the first epoch-aligned start whose window reaches the first row
    first = ((int(times_ms[0]) - plan.size) // plan.step + 1) * plan.step
    last = int(times_ms[-1])
    start = first
    while start <= last:
        end = start + plan.size
        lo = int(np.searchsorted(times_ms, start, side="left"))
        hi = int(np.searchsorted(times_ms, end, side="left"))
        if hi > lo:
            out.append((lo, hi, start, end))
        start += plan.step
    return out
