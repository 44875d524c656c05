"""MLflow 3's logged models (``/logged-models``), kept on the run that logged them.

``mlflow.<flavor>.log_model`` and autologging create a LoggedModel, upload its files to the
model's artifact location and finalize it. loopml keeps each one as a hidden tag of its
source run (``loopml.mlflow.model.<model_id>``: name, type, status, tags, params) and its
files as files of that run under ``models/<model_id>/``, so ``loopml runs show`` lists them
and ``loopml models import`` can take the MLflow model folder from there. A model id is
``m-<run id>-<8 hex>``, so finding a model is one run read. A model needs a source run:
MLflow's run-less ``log_model`` is refused.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import TYPE_CHECKING, Any

from loopml.entities import Run, RunQuery
from loopml.errors import InvalidInput, NotFound
from loopml.server import _mlflow_model as m
from loopml.server._mlflow_model import OUTPUTS_TAG

if TYPE_CHECKING:
    from collections.abc import Mapping

    from loopml.store import Store

MODEL_TAG_PREFIX = "loopml.mlflow.model."
_MODEL_ID = re.compile(r"^m-([0-9a-f]{32})-[0-9a-f]{8}$")
_STATUSES = {"LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"}


def _pairs(items: object) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            out[item["key"]] = "" if item.get("value") is None else str(item["value"])
    return out


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _view(run: Run, model_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
    experiment_id = m.experiment_of(run)
    info = {
        "model_id": model_id,
        "experiment_id": experiment_id,
        "name": record["name"],
        "artifact_uri": f"mlflow-artifacts:/{experiment_id}/{run.id}/artifacts/models/{model_id}",
        "creation_timestamp_ms": record["created"],
        "last_updated_timestamp_ms": record["updated"],
        "model_type": record.get("model_type", ""),
        "source_run_id": run.id,
        "status": record["status"],
        "tags": [{"key": k, "value": v} for k, v in sorted(record["tags"].items())],
    }
    params = [{"key": k, "value": v} for k, v in sorted(record["params"].items())]
    return {"info": info, "data": {"params": params, "metrics": []}}


def models_of(run: Run) -> dict[str, dict[str, Any]]:
    """Every logged model of a run: model id -> its record."""
    return {
        key[len(MODEL_TAG_PREFIX) :]: json.loads(value)
        for key, value in run.tags.items()
        if key.startswith(MODEL_TAG_PREFIX)
    }


class LoggedModels:
    """The /logged-models handlers on one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _find(self, model_id: str) -> tuple[Run, dict[str, Any]]:
        match = _MODEL_ID.match(model_id)
        if match is None:
            raise NotFound("logged model", model_id)
        try:
            run = self.store.get_run(match.group(1))
        except (NotFound, InvalidInput):
            raise NotFound("logged model", model_id) from None
        record = models_of(run).get(model_id)
        if record is None:
            raise NotFound("logged model", model_id)
        return run, record

    def _save(self, run: Run, model_id: str, record: dict[str, Any]) -> dict[str, Any]:
        record["updated"] = _now_ms()
        self.store.set_tags(run.id, {MODEL_TAG_PREFIX + model_id: json.dumps(record)})
        return {"model": _view(run, model_id, record)}

    def create(self, args: dict[str, Any]) -> dict[str, Any]:
        run_id = args.get("source_run_id")
        if not isinstance(run_id, str) or not run_id:
            raise InvalidInput(
                "loopml keeps a logged model on the run that logged it: source_run_id is needed",
                hint="Log the model inside mlflow.start_run().",
            )
        run = self.store.get_run(run_id)
        model_id = f"m-{run.id}-{os.urandom(4).hex()}"
        now = _now_ms()
        record = {
            "name": str(args.get("name") or "model"),
            "model_type": str(args.get("model_type") or ""),
            "status": "LOGGED_MODEL_PENDING",
            "tags": _pairs(args.get("tags")),
            "params": _pairs(args.get("params")),
            "created": now,
            "updated": now,
        }
        return self._save(run, model_id, record)

    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        run, record = self._find(str(args.get("model_id", "")))
        return {"model": _view(run, str(args["model_id"]), record)}

    def finalize(self, args: dict[str, Any]) -> dict[str, Any]:
        model_id = str(args.get("model_id", ""))
        run, record = self._find(model_id)
        status = args.get("status")
        if status not in _STATUSES:
            raise InvalidInput(f"unknown logged-model status {status!r}")
        record["status"] = status
        return self._save(run, model_id, record)

    def set_tags(self, args: dict[str, Any]) -> dict[str, Any]:
        model_id = str(args.get("model_id", ""))
        run, record = self._find(model_id)
        record["tags"].update(_pairs(args.get("tags")))
        self._save(run, model_id, record)
        return {}

    def log_params(self, args: dict[str, Any]) -> dict[str, Any]:
        model_id = str(args.get("model_id", ""))
        run, record = self._find(model_id)
        record["params"].update(_pairs(args.get("params")))
        self._save(run, model_id, record)
        return {}

    def search(self, args: dict[str, Any]) -> dict[str, Any]:
        ids = args.get("experiment_ids") or [m.DEFAULT_EXPERIMENT_ID]
        text = str(args.get("filter") or "")
        wanted = re.search(r"source_run_id\s*=\s*['\"]([0-9a-f]{32})['\"]", text)
        if wanted is not None:
            try:
                runs = [self.store.get_run(wanted.group(1))]
            except NotFound:
                runs = []
        else:
            query = m.search_query([str(i) for i in ids], "", "ACTIVE_ONLY", [], 100_000, 0)
            runs = self.store.search_runs(
                RunQuery(where=query.where, limit=query.limit, include_deleted=False)
            )
        found = [
            _view(run, model_id, record)
            for run in runs
            for model_id, record in sorted(models_of(run).items())
            if m.experiment_of(run) in [str(i) for i in ids]
        ]
        return {"models": found}

    def log_outputs(self, args: dict[str, Any]) -> dict[str, Any]:
        run = self.store.get_run(str(args.get("run_id", "")))
        outputs = json.loads(run.tags.get(OUTPUTS_TAG, "[]"))
        for item in args.get("models") or []:
            if isinstance(item, dict) and isinstance(item.get("model_id"), str):
                outputs.append({"model_id": item["model_id"], "step": int(item.get("step") or 0)})
        self.store.set_tags(run.id, {OUTPUTS_TAG: json.dumps(outputs)})
        return {}
