"""Collecting the runs started in a context, so a caller (a pipeline step) can link them.

A pipeline worker wraps a step in :func:`capture_runs`; every run started inside it, with
``loopml.start_run`` or ``TrackingClient.start_run`` (autolog included), is tagged with the
capture's tags and its id collected. The worker reports the top-level ids to the scheduler,
which records ``step_runs.run_id`` and the lineage edge step_run -> run. Tracking knows
nothing about pipelines: the tags are whatever the caller passes.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

_capture: ContextVar[RunCapture | None] = ContextVar("loopml_run_capture", default=None)


@dataclass
class RunCapture:
    """Runs started inside a :func:`capture_runs` block.

    Attributes:
        tags: Tags given to every run started in the block.
        run_ids: Ids of the top-level runs started in the block (children of a captured
            run are reachable through it), in start order.
    """

    tags: dict[str, str] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set, repr=False)

    def add(self, run_id: str, parent_id: str | None) -> None:
        """Note a started run (top-level unless its parent was captured too)."""
        if run_id in self._seen:
            return
        self._seen.add(run_id)
        if parent_id is None or parent_id not in self._seen:
            self.run_ids.append(run_id)


@contextmanager
def capture_runs(tags: Mapping[str, object] | None = None) -> Iterator[RunCapture]:
    """Collect (and tag) the runs started in this context.

    Args:
        tags: Tags set on every run started inside the block (a run's own tags win).

    Yields:
        The :class:`RunCapture`; its ``run_ids`` stay readable after the block, also when
        the block raised.

    Example:
        >>> with capture_runs({"origin": "doc"}) as captured:  # doctest: +SKIP
        ...     with loopml.start_run("inner"):
        ...         pass
        >>> len(captured.run_ids)  # doctest: +SKIP
        1
    """
    capture = RunCapture({k: str(v) for k, v in (tags or {}).items()})
    token = _capture.set(capture)
    try:
        yield capture
    finally:
        _capture.reset(token)


def current_capture() -> RunCapture | None:
    """The innermost :func:`capture_runs` block of this context, if any."""
    return _capture.get()
