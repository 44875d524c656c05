"""MLflow's tracking REST API on loopml's store, so ``MLFLOW_TRACKING_URI`` can point here.

:func:`mlflow_router` answers the calls MLflow's own client makes (recorded from
mlflow-skinny 3.17 in ../shared/notes/services.md) under ``/api/2.0/mlflow`` and
``/ajax-api/2.0/mlflow``, plus the artifact proxy under ``/api/2.0/mlflow-artifacts``.
Errors come back in MLflow's form, ``{"error_code": ..., "message": ...}``, with MLflow's
status codes, so the client raises its own ``MlflowException``/``RestException``. How
experiments and runs map onto loopml's runs: :mod:`loopml.server._mlflow_model`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from loopml.errors import (
    Conflict,
    InvalidInput,
    LoopmlError,
    NotFound,
    Overloaded,
    PermissionDenied,
    StoreBusy,
    StoreUnavailable,
    Unauthenticated,
)
from loopml.governance import PROJECT_TAG, tagged_project
from loopml.server import _mlflow_model as m
from loopml.server import _mlflow_projects as scoped
from loopml.server._mlflow_artifacts import add_artifact_routes
from loopml.server._mlflow_models import LoggedModels

if TYPE_CHECKING:
    from loopml.entities import Run
    from loopml.server._context import ServerContext
    from loopml.store import Store

PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
_MAX_RESULTS = 50_000

Handler = Callable[[Request, dict[str, Any]], Any]


class MlflowError(Exception):
    """An error answered with one of MLflow's own error codes."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def error_response(exc: BaseException) -> JSONResponse:
    """MLflow's JSON error body and status for an exception."""
    if isinstance(exc, MlflowError):
        code, status, message = exc.code, exc.status, exc.message
    elif isinstance(exc, NotFound):
        code, status, message = "RESOURCE_DOES_NOT_EXIST", 404, str(exc)
    elif isinstance(exc, Unauthenticated):
        code, status, message = "UNAUTHENTICATED", 401, str(exc)
    elif isinstance(exc, PermissionDenied):
        code, status, message = "PERMISSION_DENIED", 403, str(exc)
    elif isinstance(exc, (StoreBusy, StoreUnavailable, Overloaded)):
        code, status, message = "TEMPORARILY_UNAVAILABLE", 503, str(exc)
    elif isinstance(exc, (InvalidInput, Conflict, LoopmlError)):
        code, status, message = "INVALID_PARAMETER_VALUE", 400, str(exc)
    elif isinstance(exc, (ValueError, TypeError, KeyError, AttributeError)):
        # a request shaped unlike MLflow's (a list where an object goes...): bad input
        code, status = "INVALID_PARAMETER_VALUE", 400
        message = f"malformed request: {type(exc).__name__}: {exc}"
    else:
        code, status, message = "INTERNAL_ERROR", 500, f"{type(exc).__name__}: {exc}"
    return JSONResponse({"error_code": code, "message": message}, status_code=status)


async def request_args(request: Request) -> dict[str, Any]:
    """The JSON body of a POST/PATCH/DELETE, or the query of a GET (lists kept as lists)."""
    if request.method == "GET":
        args: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            if key in args:
                args[key] = [*_as_list(args[key]), value]
            else:
                args[key] = value
        return args
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise MlflowError("MALFORMED_REQUEST", f"the request body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise MlflowError("MALFORMED_REQUEST", "the request body must be a JSON object")
    return body


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _text(args: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = args.get(key)
    if value is None or value == "":
        if required:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"missing value for parameter '{key}'")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"parameter '{key}' must be a string")
    return str(value)


def _run_id(args: Mapping[str, Any]) -> str:
    return _text(args, "run_id", required=False) or _text(args, "run_uuid")


def _pairs(items: object, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in _as_list(items):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise MlflowError("INVALID_PARAMETER_VALUE", f"each of {what} needs a key and value")
        value = item.get("value")
        out[item["key"]] = "" if value is None else str(value)
    return out


class _Routes:
    """The handlers, on one store; each takes the parsed arguments."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.models = LoggedModels(ctx.store)

    @property
    def store(self) -> Store:
        return self.ctx.store

    def _run(self, run_id: str) -> Run:
        try:
            run = self.store.get_run(run_id)
        except InvalidInput:
            raise NotFound("run", run_id) from None
        if run.tags.get(m.EXPERIMENT_TAG) == "true":
            raise NotFound("run", run_id)
        return run

    def _active_run(self, run_id: str) -> Run:
        run = self._run(run_id)
        if run.is_deleted:
            raise MlflowError(
                "INVALID_STATE", f"the run {run_id} is deleted; restore it before logging to it"
            )
        return run

    # -- experiments ---------------------------------------------------------------------

    def create_experiment(self, args: dict[str, Any]) -> dict[str, Any]:
        name = _text(args, "name").strip()
        if name == m.DEFAULT_EXPERIMENT_NAME or m.find_experiment(self.store, name) is not None:
            raise MlflowError(
                "RESOURCE_ALREADY_EXISTS", f"an experiment named {name!r} already exists"
            )
        run = m.create_experiment(self.store, name, _pairs(args.get("tags"), "tags"))
        return {"experiment_id": run.id}

    def get_experiment(self, args: dict[str, Any]) -> dict[str, Any]:
        run = m.get_experiment(self.store, _text(args, "experiment_id"))
        return {"experiment": m.default_experiment() if run is None else m.experiment_view(run)}

    def get_experiment_by_name(self, args: dict[str, Any]) -> dict[str, Any]:
        name = _text(args, "experiment_name")
        if name == m.DEFAULT_EXPERIMENT_NAME:
            return {"experiment": m.default_experiment()}
        run = m.find_experiment(self.store, name)
        if run is None:
            raise NotFound("experiment", name, hint="Create it with experiments/create.")
        return {"experiment": m.experiment_view(run)}

    def search_experiments(self, args: dict[str, Any]) -> dict[str, Any]:
        view = _text(args, "view_type", required=False) or "ACTIVE_ONLY"
        found = m.search_experiments(self.store, _text(args, "filter", required=False), view)
        found = [e for e in found if scoped.visible_experiment(e["experiment_id"])]
        limit = m.int_in(args.get("max_results"), "max_results", 1000)
        offset = m.int_in(args.get("page_token"), "page_token", 0)
        page = found[offset : offset + limit]
        out: dict[str, Any] = {"experiments": page}
        if offset + limit < len(found):
            out["next_page_token"] = str(offset + limit)
        return out

    def update_experiment(self, args: dict[str, Any]) -> dict[str, Any]:
        run = self._experiment(args)
        new_name = _text(args, "new_name", required=False).strip()
        if new_name:
            other = m.find_experiment(self.store, new_name)
            if other is not None and other.id != run.id:
                raise MlflowError(
                    "RESOURCE_ALREADY_EXISTS", f"an experiment named {new_name!r} already exists"
                )
            self.store.set_tags(run.id, {m.EXPERIMENT_NAME_TAG: new_name})
        return {}

    def _experiment(self, args: dict[str, Any]) -> Run:
        run = m.get_experiment(self.store, _text(args, "experiment_id"))
        if run is None:
            raise MlflowError("INVALID_PARAMETER_VALUE", "the Default experiment cannot be changed")
        return run

    def delete_experiment(self, args: dict[str, Any]) -> dict[str, Any]:
        self.store.delete_runs([self._experiment(args).id])
        return {}

    def restore_experiment(self, args: dict[str, Any]) -> dict[str, Any]:
        self.store.restore_runs([self._experiment(args).id])
        return {}

    def set_experiment_tag(self, args: dict[str, Any]) -> dict[str, Any]:
        run = self._experiment(args)
        key = _text(args, "key")
        self.store.set_tags(run.id, {key: _text(args, "value", required=False)})
        return {}

    # -- runs ----------------------------------------------------------------------------

    def create_run(self, args: dict[str, Any]) -> dict[str, Any]:
        experiment_id = _text(args, "experiment_id", required=False) or m.DEFAULT_EXPERIMENT_ID
        experiment = m.get_experiment(self.store, experiment_id)
        if experiment is not None and experiment.is_deleted:
            raise MlflowError(
                "INVALID_STATE", f"the experiment {experiment_id} is deleted; restore it first"
            )
        tags = _pairs(args.get("tags"), "tags")
        name = _text(args, "run_name", required=False) or tags.get(m.RUN_NAME_TAG) or "run"
        tags.pop(m.RUN_NAME_TAG, None)
        user = _text(args, "user_id", required=False)
        if user:
            tags.setdefault("mlflow.user", user)
        if experiment is not None:
            tags[m.RUN_EXPERIMENT_TAG] = experiment.id
            # A run is in its experiment's project (checked before this handler ran).
            project = tagged_project(experiment.tags)
            if project and not tagged_project(tags):
                tags[PROJECT_TAG] = project
        parent = tags.pop(m.PARENT_TAG, None)
        if parent is not None:
            self._run(parent)
        run = self.store.create_run(name=name, parent_id=parent, tags=tags)
        return {"run": m.run_view(self.store, run)}

    def get_run(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"run": m.run_view(self.store, self._run(_run_id(args)))}

    def update_run(self, args: dict[str, Any]) -> dict[str, Any]:
        run = self._run(_run_id(args))
        name = _text(args, "run_name", required=False)
        if name and name != run.tags.get(m.RUN_NAME_TAG, run.name):
            self.store.set_tags(run.id, {m.RUN_NAME_TAG: name})
        status = args.get("status")
        if status is not None:
            wanted = m.status_in(status)
            if wanted is not run.status:
                run = self.store.set_run_status(run.id, wanted)
        run = self.store.get_run(run.id)
        return {"run_info": m.run_view(self.store, run)["info"]}

    def delete_run(self, args: dict[str, Any]) -> dict[str, Any]:
        self.store.delete_runs([self._run(_run_id(args)).id])
        return {}

    def restore_run(self, args: dict[str, Any]) -> dict[str, Any]:
        self.store.restore_runs([self._run(_run_id(args)).id])
        return {}

    def search_runs(self, args: dict[str, Any]) -> dict[str, Any]:
        view = _text(args, "run_view_type", required=False) or "ACTIVE_ONLY"
        limit = m.int_in(args.get("max_results"), "max_results", 1000)
        if not 1 <= limit <= _MAX_RESULTS:
            raise MlflowError(
                "INVALID_PARAMETER_VALUE", f"max_results must be 1 to {_MAX_RESULTS}, got {limit}"
            )
        offset = m.int_in(args.get("page_token"), "page_token", 0)
        ids = [str(e) for e in _as_list(args.get("experiment_ids"))]
        query = m.search_query(
            ids,
            _text(args, "filter", required=False),
            view,
            [str(o) for o in _as_list(args.get("order_by"))],
            limit + 1,
            offset,
        )
        runs = [
            r
            for r in self.store.search_runs(query)
            if m.status_filter(r, view) and scoped.visible(r)
        ]
        out: dict[str, Any] = {"runs": [m.run_view(self.store, r) for r in runs[:limit]]}
        if len(runs) > limit:
            out["next_page_token"] = str(offset + limit)
        return out

    def log_metric(self, args: dict[str, Any]) -> dict[str, Any]:
        run = self._active_run(_run_id(args))
        self.store.log_metrics(run.id, [m.metric_in(args)])
        return {}

    def log_param(self, args: dict[str, Any]) -> dict[str, Any]:
        run = self._active_run(_run_id(args))
        key = _text(args, "key")
        self.store.log_params(run.id, {key: _text(args, "value", required=False)})
        return {}

    def set_tag(self, args: dict[str, Any]) -> dict[str, Any]:
        run = self._active_run(_run_id(args))
        key = _text(args, "key")
        value = _text(args, "value", required=False)
        if key.startswith(m.HIDDEN_PREFIX):
            raise MlflowError("INVALID_PARAMETER_VALUE", f"tags {m.HIDDEN_PREFIX}* are loopml's")
        self.store.set_tags(run.id, {key: value})
        return {}

    def delete_tag(self, args: dict[str, Any]) -> dict[str, Any]:
        # 400, not 501: the request is answered the same way every time and never counts
        # as a server error (schemathesis, load balancers); MLflow's client raises either way.
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            "loopml keeps every tag a run was given: runs/delete-tag is not supported; "
            "set the tag to another value instead",
            status=400,
        )

    def log_batch(self, args: dict[str, Any]) -> dict[str, Any]:
        run = self._active_run(_run_id(args))
        params = _pairs(args.get("params"), "params")
        tags = _pairs(args.get("tags"), "tags")
        metrics = [m.metric_in(item) for item in _as_list(args.get("metrics"))]
        if params:
            self.store.log_params(run.id, params)
        if tags:
            tags.pop(m.RUN_EXPERIMENT_TAG, None)
            self.store.set_tags(run.id, tags)
        if metrics:
            self.store.log_metrics(run.id, metrics)
        return {}

    def log_inputs(self, args: dict[str, Any]) -> dict[str, Any]:
        run = self._active_run(_run_id(args))
        tags = {}
        for item in _as_list(args.get("datasets")):
            dataset = item.get("dataset") if isinstance(item, dict) else None
            if not isinstance(dataset, dict):
                raise MlflowError("INVALID_PARAMETER_VALUE", "each dataset input needs a dataset")
            record = {"tags": item.get("tags") or [], "dataset": dataset}
            text = json.dumps(record, sort_keys=True)
            if len(text) > 8000:  # a tag value's limit: keep the dataset's identity only
                slim = {k: dataset.get(k) for k in ("name", "digest", "source_type", "source")}
                text = json.dumps({"tags": record["tags"], "dataset": slim}, sort_keys=True)
            key = f"{dataset.get('name', '')}-{dataset.get('digest', '')}"[:200]
            tags[m.INPUT_TAG_PREFIX + key] = text
        if tags:
            self.store.set_tags(run.id, tags)
        return {}

    def log_model(self, args: dict[str, Any]) -> dict[str, Any]:
        run = self._active_run(_run_id(args))
        text = _text(args, "model_json")
        try:
            model = json.loads(text)
        except ValueError:
            raise MlflowError("INVALID_PARAMETER_VALUE", "model_json is not JSON") from None
        history = json.loads(run.tags.get("mlflow.log-model.history", "[]"))
        history.append(model)
        self.store.set_tags(run.id, {"mlflow.log-model.history": json.dumps(history)})
        return {}

    def metric_history(self, args: dict[str, Any]) -> dict[str, Any]:
        run = self._run(_run_id(args))
        points = self.store.metric_history(run.id, _text(args, "metric_key"))
        limit = m.int_in(args.get("max_results"), "max_results", len(points) or 1)
        offset = m.int_in(args.get("page_token"), "page_token", 0)
        out: dict[str, Any] = {
            "metrics": [m.metric_out(p) for p in points[offset : offset + limit]]
        }
        if offset + limit < len(points):
            out["next_page_token"] = str(offset + limit)
        return out

    # -- MLflow 3 logged models (see _mlflow_models) ------------------------------------

    def create_logged_model(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.models.create(args)

    def get_logged_model(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.models.get(args)

    def finalize_logged_model(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.models.finalize(args)

    def set_logged_model_tags(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.models.set_tags(args)

    def log_logged_model_params(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.models.log_params(args)

    def search_logged_models(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self.models.search(args)
        models = found.get("models", [])
        found["models"] = [v for v in models if scoped.visible_run_id(v["info"]["source_run_id"])]
        return found

    def log_outputs(self, args: dict[str, Any]) -> dict[str, Any]:
        self._active_run(_run_id(args))
        return self.models.log_outputs(args)


_ENDPOINTS: tuple[tuple[str, str, str, str], ...] = (
    # (method, path, handler, permission)
    ("POST", "/experiments/create", "create_experiment", "runs.write"),
    ("GET", "/experiments/get", "get_experiment", "runs.read"),
    ("GET", "/experiments/get-by-name", "get_experiment_by_name", "runs.read"),
    ("POST", "/experiments/search", "search_experiments", "runs.read"),
    ("GET", "/experiments/search", "search_experiments", "runs.read"),
    ("POST", "/experiments/update", "update_experiment", "runs.write"),
    ("POST", "/experiments/delete", "delete_experiment", "runs.write"),
    ("POST", "/experiments/restore", "restore_experiment", "runs.write"),
    ("POST", "/experiments/set-experiment-tag", "set_experiment_tag", "runs.write"),
    ("POST", "/runs/create", "create_run", "runs.write"),
    ("GET", "/runs/get", "get_run", "runs.read"),
    ("POST", "/runs/update", "update_run", "runs.write"),
    ("POST", "/runs/delete", "delete_run", "runs.write"),
    ("POST", "/runs/restore", "restore_run", "runs.write"),
    ("POST", "/runs/search", "search_runs", "runs.read"),
    ("POST", "/runs/log-metric", "log_metric", "runs.write"),
    ("POST", "/runs/log-parameter", "log_param", "runs.write"),
    ("POST", "/runs/set-tag", "set_tag", "runs.write"),
    ("POST", "/runs/delete-tag", "delete_tag", "runs.write"),
    ("POST", "/runs/log-batch", "log_batch", "runs.write"),
    ("POST", "/runs/log-inputs", "log_inputs", "runs.write"),
    ("POST", "/runs/log-model", "log_model", "runs.write"),
    ("GET", "/metrics/get-history", "metric_history", "runs.read"),
    ("POST", "/runs/outputs", "log_outputs", "runs.write"),
    ("POST", "/logged-models", "create_logged_model", "runs.write"),
    ("POST", "/logged-models/search", "search_logged_models", "runs.read"),
    ("GET", "/logged-models/{model_id}", "get_logged_model", "runs.read"),
    ("PATCH", "/logged-models/{model_id}", "finalize_logged_model", "runs.write"),
    ("PATCH", "/logged-models/{model_id}/tags", "set_logged_model_tags", "runs.write"),
    ("POST", "/logged-models/{model_id}/params", "log_logged_model_params", "runs.write"),
)


def guarded(
    ctx: ServerContext, permission: str, work: Callable[[Request], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    """A route that authorises ``permission`` (held in some project: ``work`` checks the
    project of what the request names) and answers every error in MLflow's form."""

    async def endpoint(request: Request) -> Response:
        try:
            # The permission held in some project; the work checks its object's project.
            await run_in_threadpool(scoped.authorize_in, ctx, request, permission, ())
            return await work(request)
        except Exception as exc:  # every failure becomes MLflow's JSON error
            return error_response(exc)

    return endpoint


def _json_endpoint(ctx: ServerContext, routes: _Routes, name: str, permission: str) -> Any:
    handler: Callable[[dict[str, Any]], dict[str, Any]] = getattr(routes, name)

    def answer(request: Request, args: dict[str, Any]) -> dict[str, Any]:
        scope = scoped.scope_for(ctx, request, permission)
        scoped.authorize_in(ctx, request, permission, scope.projects(name, args))
        token = scoped.CURRENT.set(scope)
        try:
            return handler(args)
        finally:
            scoped.CURRENT.reset(token)

    async def work(request: Request) -> Response:
        args = await request_args(request)
        args.update(request.path_params)
        result = await run_in_threadpool(answer, request, args)
        return JSONResponse(result)

    endpoint = guarded(ctx, permission, work)
    endpoint.__name__ = f"mlflow_{name}"
    return endpoint


def mlflow_router(ctx: ServerContext) -> APIRouter:
    """MLflow's tracking REST API over ``ctx``'s workspace, to mount at :data:`PREFIXES`.

    Its paths are relative (``/experiments/create``, ``/runs/log-batch``...): the app
    includes it once per prefix (``/api/2.0/mlflow`` and ``/ajax-api/2.0/mlflow``), and
    includes :func:`mlflow_artifacts_router` without a prefix for the artifact proxy.
    Every route needs ``runs.read`` or ``runs.write``; an unknown MLflow path answers
    MLflow's ``ENDPOINT_NOT_FOUND``.

    Args:
        ctx: The server context (workspace and auth dependencies).

    Returns:
        The router.
    """
    router = APIRouter(tags=["mlflow"])
    routes = _Routes(ctx)
    for method, path, name, permission in _ENDPOINTS:
        router.add_api_route(
            path,
            _json_endpoint(ctx, routes, name, permission),
            methods=[method],
            summary=f"MLflow {path}",
        )
    router.add_api_route(
        "/{path:path}",
        _unknown,
        methods=["GET", "POST", "PATCH", "DELETE", "PUT"],
        include_in_schema=False,
    )
    return router


def mlflow_artifacts_router(ctx: ServerContext) -> APIRouter:
    """MLflow's artifact proxy, with full paths (``/api/2.0/mlflow-artifacts/artifacts/...``).

    Include it without a prefix, beside :func:`mlflow_router`.
    """
    router = APIRouter(tags=["mlflow"])
    add_artifact_routes(router, ctx, guarded)
    return router


async def _unknown(request: Request) -> Response:
    return JSONResponse(
        {
            "error_code": "ENDPOINT_NOT_FOUND",
            "message": f"loopml does not implement MLflow's {request.method} {request.url.path}",
        },
        status_code=404,
    )


__all__ = ["PREFIXES", "MlflowError", "error_response", "mlflow_artifacts_router", "mlflow_router"]
