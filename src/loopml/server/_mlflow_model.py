"""How MLflow's tracking objects map onto loopml's runs (see docs/mlflow.md).

loopml has runs but no experiment object, and the store gets no new table for them, so an
MLflow **experiment** is kept as a loopml run that holds it: tagged
:data:`EXPERIMENT_TAG`, its name in :data:`EXPERIMENT_NAME_TAG`, its tags as run tags,
deleted and restored as the run is; its id is that run's id. Experiment ``"0"``
("Default") is virtual: it holds every run that names no experiment, which includes the
runs loopml's own SDK logs. An MLflow **run** is a loopml run with the same id (both are
32 hex characters); :data:`RUN_EXPERIMENT_TAG` names its experiment. MLflow's params,
metrics (with step and timestamp) and tags are loopml's; ``mlflow.runName`` is the run's
name and ``mlflow.parentRunId`` its parent.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from loopml.entities import BoolOp, Comparison, Metric, Not, Run, RunQuery, RunStatus
from loopml.errors import InvalidInput, NotFound
from loopml.tracking import parse_filter, parse_order_by

if TYPE_CHECKING:
    from collections.abc import Mapping

    from loopml.store import Store

#: Tag marking the loopml run that holds an MLflow experiment.
EXPERIMENT_TAG = "loopml.mlflow.experiment"
#: Tag holding the experiment's name (so a rename is a tag update).
EXPERIMENT_NAME_TAG = "loopml.mlflow.experiment_name"
#: Tag naming the experiment of a run (absent: the Default experiment "0").
RUN_EXPERIMENT_TAG = "loopml.mlflow.experiment_id"
#: Prefix of the tags that keep a run's logged inputs (datasets).
INPUT_TAG_PREFIX = "loopml.mlflow.input."
#: Tag listing the logged models a run output (MLflow 3's run outputs).
OUTPUTS_TAG = "loopml.mlflow.outputs"
#: Tags kept for loopml and hidden from MLflow's view of a run or experiment.
HIDDEN_PREFIX = "loopml.mlflow."
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
RUN_NAME_TAG = "mlflow.runName"
PARENT_TAG = "mlflow.parentRunId"

_STATUS_OUT = {
    RunStatus.RUNNING: "RUNNING",
    RunStatus.FINISHED: "FINISHED",
    RunStatus.FAILED: "FAILED",
    RunStatus.KILLED: "KILLED",
    RunStatus.CRASHED: "FAILED",
}
_STATUS_IN = {"RUNNING": RunStatus.RUNNING, "SCHEDULED": RunStatus.RUNNING}
_STATUS_IN.update({s.value: s for s in RunStatus})

# MLflow's run attributes -> loopml's (filters and sort orders).
_ATTRIBUTE_NAMES = {
    "run_name": "name",
    "run_id": "id",
    "start_time": "created_at_ms",
    "end_time": "ended_at_ms",
    "status": "status",
    "created": "created_at_ms",
    "Created": "created_at_ms",
}
_ATTRIBUTE = re.compile(r"\b(?:attributes?|attr|run)\.(`[^`]+`|\"[^\"]+\"|\w+)")
_RUN_NAME = re.compile(r"\btags\.(?:`mlflow\.runName`|\"mlflow\.runName\"|mlflow\.runName)\b")


def status_out(status: RunStatus) -> str:
    """MLflow's name for a loopml run status (CRASHED reads as FAILED)."""
    return _STATUS_OUT[status]


def status_in(text: object) -> RunStatus:
    """loopml's status for MLflow's ``status`` field."""
    if isinstance(text, str) and text.upper() in _STATUS_IN:
        return _STATUS_IN[text.upper()]
    raise InvalidInput(
        f"unknown run status {text!r}",
        hint="MLflow statuses: RUNNING, SCHEDULED, FINISHED, FAILED, KILLED.",
    )


def visible_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """Tags as MLflow lists them, without loopml's bookkeeping tags."""
    return [
        {"key": k, "value": v} for k, v in sorted(tags.items()) if not k.startswith(HIDDEN_PREFIX)
    ]


# -- experiments --------------------------------------------------------------------------


def _holders(store: Store, where: Any = None, *, include_deleted: bool = True) -> list[Run]:
    marker = Comparison("tags", EXPERIMENT_TAG, "=", "true")
    condition = marker if where is None else BoolOp("and", (marker, where))
    query = RunQuery(where=condition, limit=100_000, include_deleted=include_deleted)
    return store.search_runs(query)


def experiment_view(run: Run) -> dict[str, Any]:
    """An experiment in MLflow's JSON shape."""
    return {
        "experiment_id": run.id,
        "name": run.tags.get(EXPERIMENT_NAME_TAG, run.name),
        "artifact_location": f"mlflow-artifacts:/{run.id}",
        "lifecycle_stage": "deleted" if run.is_deleted else "active",
        "last_update_time": run.created_at_ms,
        "creation_time": run.created_at_ms,
        "tags": visible_tags(run.tags),
    }


def default_experiment() -> dict[str, Any]:
    """The virtual Default experiment "0"."""
    return {
        "experiment_id": DEFAULT_EXPERIMENT_ID,
        "name": DEFAULT_EXPERIMENT_NAME,
        "artifact_location": f"mlflow-artifacts:/{DEFAULT_EXPERIMENT_ID}",
        "lifecycle_stage": "active",
        "last_update_time": 0,
        "creation_time": 0,
        "tags": [],
    }


def get_experiment(store: Store, experiment_id: str) -> Run | None:
    """The run holding experiment ``experiment_id`` (None for "0"); NotFound otherwise."""
    if experiment_id == DEFAULT_EXPERIMENT_ID:
        return None
    try:
        run = store.get_run(experiment_id)
    except (NotFound, InvalidInput):
        run = None
    if run is None or run.tags.get(EXPERIMENT_TAG) != "true":
        raise NotFound(
            "experiment", experiment_id, hint="List experiments with experiments/search."
        )
    return run


def find_experiment(store: Store, name: str) -> Run | None:
    """The run holding the experiment named ``name`` (deleted ones too), or None."""
    found = _holders(store, Comparison("tags", EXPERIMENT_NAME_TAG, "=", name))
    return found[0] if found else None


def create_experiment(store: Store, name: str, tags: Mapping[str, str]) -> Run:
    """Record a new experiment (its holder run)."""
    return store.create_run(
        name=name,
        tags={**tags, EXPERIMENT_TAG: "true", EXPERIMENT_NAME_TAG: name},
    )


def search_experiments(store: Store, filter_text: str, view: str) -> list[dict[str, Any]]:
    """Experiments matching MLflow's filter (``name``, ``tags.*``) and view type."""
    where = _experiment_filter(filter_text) if filter_text.strip() else None
    out = []
    if not filter_text.strip() and view != "DELETED_ONLY":
        out.append(default_experiment())
    for run in _holders(store, where):
        if (view == "ACTIVE_ONLY" and run.is_deleted) or (
            view == "DELETED_ONLY" and not run.is_deleted
        ):
            continue
        out.append(experiment_view(run))
    return out


def _experiment_filter(text: str) -> Any:
    text = re.sub(r"\b(?:attributes?|attr)\.", "", text)
    return _rename(parse_filter(text), {"name": ("tags", EXPERIMENT_NAME_TAG)})


def _rename(node: Any, names: Mapping[str, tuple[str, str]]) -> Any:
    if isinstance(node, Comparison):
        if node.scope == "attributes" and node.key in names:
            scope, key = names[node.key]
            return Comparison(scope, key, node.op, node.value)  # type: ignore[arg-type]
        return node
    if isinstance(node, BoolOp):
        return BoolOp(node.op, tuple(_rename(item, names) for item in node.items))
    if isinstance(node, Not):
        return Not(_rename(node.item, names))
    return node


# -- runs ---------------------------------------------------------------------------------


def experiment_of(run: Run) -> str:
    """The MLflow experiment id of a run."""
    return run.tags.get(RUN_EXPERIMENT_TAG, DEFAULT_EXPERIMENT_ID)


def run_view(store: Store, run: Run) -> dict[str, Any]:
    """A run in MLflow's JSON shape (info, data, inputs)."""
    experiment_id = experiment_of(run)
    name = run.tags.get(RUN_NAME_TAG, run.name)
    info: dict[str, Any] = {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": name,
        "experiment_id": experiment_id,
        "user_id": run.tags.get("mlflow.user", ""),
        "status": status_out(run.status),
        "start_time": run.created_at_ms,
        "artifact_uri": f"mlflow-artifacts:/{experiment_id}/{run.id}/artifacts",
        "lifecycle_stage": "deleted" if run.is_deleted else "active",
    }
    if run.ended_at_ms is not None:
        info["end_time"] = run.ended_at_ms
    metrics = [
        {
            "key": s.key,
            "value": _number_out(s.latest),
            "timestamp": run.ended_at_ms or run.created_at_ms,
            "step": s.latest_step,
        }
        for s in store.metric_summaries([run.id])
    ]
    tags = dict(run.tags)
    tags.setdefault(RUN_NAME_TAG, name)
    if run.parent_id is not None:
        tags.setdefault(PARENT_TAG, run.parent_id)
    data = {
        "metrics": metrics,
        "params": [{"key": k, "value": v} for k, v in sorted(run.params.items())],
        "tags": visible_tags(tags),
    }
    inputs = [
        json.loads(value)
        for key, value in sorted(run.tags.items())
        if key.startswith(INPUT_TAG_PREFIX)
    ]
    outputs = json.loads(run.tags.get(OUTPUTS_TAG, "[]"))
    return {
        "info": info,
        "data": data,
        "inputs": {"dataset_inputs": inputs},
        "outputs": {"model_outputs": outputs},
    }


def _number_out(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def number_in(value: object, what: str) -> float:
    """A metric value from MLflow's JSON (numbers, or "NaN"/"Infinity" strings)."""
    if isinstance(value, bool):
        raise InvalidInput(f"{what} must be a number, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise InvalidInput(f"{what} must be a number, got {value!r}")


def int_in(value: object, what: str, default: int = 0) -> int:
    """An integer field (MLflow's JSON sends int64 as numbers or strings)."""
    if value is None or value == "":
        return default
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must be an integer, got {value!r}") from None


def metric_in(body: Mapping[str, Any]) -> Metric:
    """One metric point from MLflow's JSON."""
    key = body.get("key")
    if not isinstance(key, str) or not key:
        raise InvalidInput("a metric needs a 'key'", hint="Send {key, value, timestamp, step}.")
    return Metric(
        key=key,
        value=number_in(body.get("value"), f"metric {key!r} value"),
        step=int_in(body.get("step"), "step"),
        timestamp_ms=int_in(body.get("timestamp"), "timestamp"),
    )


def metric_out(metric: Metric) -> dict[str, Any]:
    """One metric point in MLflow's JSON shape."""
    return {
        "key": metric.key,
        "value": _number_out(metric.value),
        "timestamp": metric.timestamp_ms,
        "step": metric.step,
    }


def search_query(
    experiment_ids: list[str],
    filter_text: str,
    view: str,
    order_by: list[str],
    limit: int,
    offset: int,
) -> RunQuery:
    """A loopml run query for MLflow's runs/search arguments."""
    members: list[Any] = []
    named = [e for e in experiment_ids if e != DEFAULT_EXPERIMENT_ID]
    if named:
        members.append(Comparison("tags", RUN_EXPERIMENT_TAG, "in", tuple(named)))
    if DEFAULT_EXPERIMENT_ID in experiment_ids:
        members.append(Comparison("tags", RUN_EXPERIMENT_TAG, "=", None))
    if not members:
        raise InvalidInput(
            "runs/search needs experiment_ids", hint="Pass the experiments to search in."
        )
    parts: list[Any] = [
        members[0] if len(members) == 1 else BoolOp("or", tuple(members)),
        Comparison("tags", EXPERIMENT_TAG, "=", None),
    ]
    if filter_text.strip():
        parts.append(parse_filter(_run_names(filter_text)))
    sort = tuple(o for text in order_by for o in parse_order_by(_run_names(text)))
    return RunQuery(
        where=BoolOp("and", tuple(parts)),
        order_by=sort,
        limit=limit,
        offset=offset,
        include_deleted=view in ("ALL", "DELETED_ONLY"),
    )


def _run_names(text: str) -> str:
    text = _RUN_NAME.sub("attributes.name", text)

    def attribute(match: re.Match[str]) -> str:
        key = match.group(1).strip('`"')
        return f"attributes.{_ATTRIBUTE_NAMES.get(key, key)}"

    return _ATTRIBUTE.sub(attribute, text)


def status_filter(run: Run, view: str) -> bool:
    """Whether a run is in MLflow's view type."""
    if view == "DELETED_ONLY":
        return run.is_deleted
    if view == "ACTIVE_ONLY":
        return not run.is_deleted
    return True
