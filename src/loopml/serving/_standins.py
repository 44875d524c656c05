"""The prediction log of a server started with ``--no-log``: the same methods as
``PredictionLog``, keeping nothing."""

from __future__ import annotations

from typing import Any


class NullLog:
    """A prediction log that keeps nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._appended = 0

    def start(self) -> None:
        """Nothing to start."""

    def append(self, record: Any, *, timeout_s: float | None = None) -> None:
        """Count and forget ``record``."""
        self._appended += 1

    def flush(self) -> None:
        """Nothing is queued."""

    def close(self) -> None:
        """Nothing to stop."""

    @property
    def queue_depth(self) -> int:
        """Always 0."""
        return 0

    @property
    def stats(self) -> dict[str, float]:
        """Nothing written, nothing dropped."""
        return {"written": 0.0, "dropped": 0.0, "appended": float(self._appended)}
