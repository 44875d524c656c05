"""Drift of a feature view's values: a window against a reference window or profile."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput
from loopml.monitoring._drift import drift

if TYPE_CHECKING:
    import os

    from loopml.monitoring._report import DriftReport
    from loopml.monitoring._spec import MonitorSpec
    from loopml.workspace import Workspace

TimeLike = datetime | str | float | None


def feature_drift(
    view: str,
    *,
    start: TimeLike,
    end: TimeLike = None,
    reference: Any = None,
    reference_start: TimeLike = None,
    latest: bool = False,
    spec: str | os.PathLike[str] | dict[str, Any] | MonitorSpec | None = None,
    workspace: Workspace | None = None,
) -> DriftReport:
    """Drift of the features of ``view`` known in ``[start, end)`` against a reference.

    The reference is, by default, the same view's values known in ``[reference_start,
    start)`` (everything before the window when ``reference_start`` is None); or anything
    :func:`~loopml.monitoring.drift` takes as a reference (a dataset ref, a stored
    profile, a model URI, a DataFrame). Entity keys and the event time are not tested.

    Args:
        view: An applied feature view.
        start: Start of the window (datetime, ISO text or unix seconds).
        end: End of the window (default: now).
        reference: A reference other than the view's own earlier values.
        reference_start: Start of the reference window (default: the view's first row).
        latest: Compare only the newest value per entity in each window (what the online
            store serves after materialising up to the window's end).
        spec: A monitor spec with per-feature overrides.
        workspace: Workspace (default: the current one).

    Raises:
        InvalidInput: A window has no rows.
        NotFound: The view is not applied.

    Example:
        >>> feature_drift("user_stats", start="2026-03-01")  # doctest: +SKIP
    """
    from loopml.features import read_feature_view

    window = read_feature_view(view, start=start, end=end, latest=latest, workspace=workspace)
    if reference is None:
        reference = read_feature_view(
            view, start=reference_start, end=start, latest=latest, workspace=workspace
        )
        if reference.num_rows == 0:
            raise InvalidInput(
                f"feature view {view!r} has no rows known before {start!s} to compare with",
                hint="Pass an earlier reference_start, a later start, or a reference.",
                view=view,
            )
    if window.num_rows == 0:
        raise InvalidInput(
            f"feature view {view!r} has no rows known in the window starting {start!s}",
            hint="Widen the window (start/end) or materialise newer data first.",
            view=view,
        )
    meta = window.schema.metadata or {}
    features = meta.get(b"loopml.features", b"").decode().split(",")
    return drift(
        reference,
        window,
        columns=[f for f in features if f],
        spec=spec,
        workspace=workspace,
    )
