"""What each kind of trigger watches: one observation of its condition, from the store.

An observation says whether the condition holds, the value seen, the state to keep
whatever happens (a baseline) and the state to keep once it fires (the version consumed),
and the objects that caused it (an alert, a monitor window) for lineage.

The drift and performance kinds take their signal from a pluggable source
(``condition.source: module:attr``, called as ``source(trigger, workspace)`` and returning
a number or a mapping with ``value`` and optionally ``alert`` / ``monitor_window`` ids):
that is where stored monitor windows and alerts plug in. Without one, drift is computed with
:func:`loopml.monitoring.drift` of the champion's training data against the newest rows of
the prediction log, and performance is the accuracy of the newest labelled predictions.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopml.entities import Trigger, TriggerKind
from loopml.errors import InvalidTrigger, NotFound
from loopml.ids import ObjectKind, ObjectRef

if TYPE_CHECKING:
    from loopml.workspace import Workspace


@dataclass(frozen=True)
class Observation:
    """One look at a trigger's condition."""

    met: bool
    value: Any = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    baseline: Mapping[str, Any] = field(default_factory=dict)
    on_fire: Mapping[str, Any] = field(default_factory=dict)
    causes: tuple[ObjectRef, ...] = ()


def load_callable(target: str) -> Callable[..., Any]:
    """Import ``module:attr`` (InvalidTrigger when it cannot be found); the working
    directory is importable, as for pipelines."""
    import os
    import sys

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module, _, attr = target.partition(":")
    try:
        found = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidTrigger(
            f"cannot import {target!r} ({exc})",
            hint="Give 'module:attr' of a callable importable from the working directory.",
        ) from exc
    if not callable(found):
        raise InvalidTrigger(f"{target!r} is not callable")
    return found  # type: ignore[no-any-return]


def _cron_next(cron: str, after_ms: int) -> int:
    from croniter import croniter

    start = dt.datetime.fromtimestamp(after_ms / 1000, tz=dt.UTC)
    return int(croniter(cron, start).get_next(dt.datetime).timestamp() * 1000)


def _schedule(trigger: Trigger, ws: Workspace, now_ms: int) -> Observation:
    cron = str(trigger.condition["cron"])
    due = trigger.state.get("next_at_ms")
    if due is None:
        return Observation(False, baseline={"next_at_ms": _cron_next(cron, now_ms)})
    met = now_ms >= int(due)
    return Observation(
        met,
        value=int(due),
        detail={"due_at_ms": int(due)},
        on_fire={"next_at_ms": _cron_next(cron, now_ms)},
    )


def _dataset_ref(text: str) -> str:
    return text if "@" in text else f"{text}@main"


def _new_data(trigger: Trigger, ws: Workspace, now_ms: int) -> Observation:
    from loopml import data

    ref = _dataset_ref(str(trigger.condition["dataset"]))
    repo = data.repo_for(ws)
    try:
        head = repo.resolve(ref)
    except NotFound:
        return Observation(False, detail={"dataset": ref, "reason": "no version yet"})
    name = ref.split("@", 1)[0]
    version = f"{name}@v{head.seq}"
    rows = int(data.profile(version, repo=repo).get("rows", 0))
    seen = trigger.state.get("seen_version_id", "__unset__")
    if seen == "__unset__":
        return Observation(False, baseline={"seen_version_id": head.id, "seen_rows": rows})
    if seen == head.id:
        return Observation(False, value=version, detail={"dataset": version})
    new_rows = rows - int(trigger.state.get("seen_rows") or 0)
    need = int(trigger.condition.get("min_rows") or 0)
    met = new_rows >= need
    return Observation(
        met,
        value=new_rows,
        detail={"dataset": version, "version_id": head.id, "new_rows": new_rows},
        on_fire={"seen_version_id": head.id, "seen_rows": rows},
        causes=(ObjectRef(ObjectKind.DATASET_VERSION, head.id),),
    )


def _from_source(trigger: Trigger, ws: Workspace) -> tuple[float | None, dict[str, Any]]:
    source = trigger.condition.get("source")
    if source is None:
        return None, {}
    got = load_callable(str(source))(trigger, ws)
    if got is None:
        return None, {}
    if isinstance(got, Mapping):
        value = got.get("value")
        return (None if value is None else float(value)), dict(got)
    return float(got), {}


def _causes(extra: Mapping[str, Any]) -> tuple[ObjectRef, ...]:
    refs = []
    if extra.get("alert"):
        refs.append(ObjectRef(ObjectKind.ALERT, str(extra["alert"])))
    if extra.get("monitor_window"):
        refs.append(ObjectRef(ObjectKind.MONITOR_WINDOW, str(extra["monitor_window"])))
    return tuple(refs)


def _window(trigger: Trigger, ws: Workspace) -> Any:
    from loopml.serving import read_predictions

    rows = int(trigger.condition.get("window_rows") or 500)
    frame = read_predictions(trigger.model, workspace=ws)
    return frame.tail(rows)


def _drift(trigger: Trigger, ws: Workspace, now_ms: int) -> Observation:
    value, extra = _from_source(trigger, ws)
    if value is None and "source" not in trigger.condition:
        from loopml.monitoring import drift

        window = _window(trigger, ws)
        if window.empty:
            return Observation(False, detail={"reason": "no predictions logged yet"})
        inputs = {c: c.removeprefix("in.") for c in window.columns if c.startswith("in.")}
        current = window[list(inputs)].rename(columns=inputs)
        # The model's inputs, as logged: the training data also holds the label and
        # columns the model never sees, which a window of predictions cannot have.
        columns = trigger.condition.get("columns") or list(inputs.values())
        report = drift(
            f"models:/{trigger.model}@champion", current, columns=list(columns), workspace=ws
        )
        tested = report.features
        value = sum(f.drifted for f in tested) / len(tested) if tested else 0.0
        extra = {
            "drifted": [f.column for f in tested if f.drifted],
            "window_rows": report.current_rows,
        }
    if value is None:
        return Observation(False, detail=extra)
    threshold = float(trigger.condition["threshold"])
    detail = {**extra, "value": value, "threshold": threshold}
    return Observation(value >= threshold, value, detail, causes=_causes(extra))


def _performance(trigger: Trigger, ws: Workspace, now_ms: int) -> Observation:
    value, extra = _from_source(trigger, ws)
    if value is None and "source" not in trigger.condition:
        window = _window(trigger, ws)
        if "label" in window:
            window = window[window["label_updates"] > 0]
        outputs = [c for c in window.columns if c.startswith("out.")]
        if window.empty or not outputs:
            return Observation(False, detail={"reason": "no labelled predictions yet"})
        predicted = window[outputs[0]].astype(str)
        value = float((predicted == window["label"].astype(str)).mean())
        extra = {"metric": "accuracy", "labelled_rows": len(window)}
    if value is None:
        return Observation(False, detail=extra)
    bound = float(trigger.condition["min"])
    detail = {**extra, "metric": trigger.condition["metric"], "value": value, "min": bound}
    return Observation(value < bound, value, detail, causes=_causes(extra))


def _upstream(trigger: Trigger, ws: Workspace, now_ms: int) -> Observation:
    from loopml import registry

    ref = str(trigger.condition["upstream"])
    try:
        version = registry.get_version(ref, store=ws.store)
    except NotFound:
        return Observation(False, detail={"upstream": ref, "reason": "not registered"})
    seen = trigger.state.get("seen_upstream", "__unset__")
    if seen == "__unset__":
        return Observation(False, baseline={"seen_upstream": version.number})
    met = seen != version.number
    return Observation(
        met,
        value=version.number,
        detail={"upstream": ref, "from": seen, "to": version.number},
        on_fire={"seen_upstream": version.number},
        causes=(ObjectRef(ObjectKind.MODEL_VERSION, version.id),) if met else (),
    )


def _manual(trigger: Trigger, ws: Workspace, now_ms: int) -> Observation:
    return Observation(False)


OBSERVERS: dict[TriggerKind, Callable[[Trigger, Workspace, int], Observation]] = {
    TriggerKind.SCHEDULE: _schedule,
    TriggerKind.NEW_DATA: _new_data,
    TriggerKind.DRIFT: _drift,
    TriggerKind.PERFORMANCE: _performance,
    TriggerKind.UPSTREAM: _upstream,
    TriggerKind.MANUAL: _manual,
}


def observe(trigger: Trigger, ws: Workspace, now_ms: int) -> Observation:
    """Look at ``trigger``'s condition once."""
    return OBSERVERS[trigger.kind](trigger, ws, now_ms)
