"""The server app: ``create_app`` (FastAPI factory) and ``app_from_env`` (uvicorn workers)."""

from __future__ import annotations

import importlib
import json
import logging
import os
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from loopml._version import __version__
from loopml.errors import ConfigError, LoopmlError
from loopml.server._context import ServerContext
from loopml.server._routes import error_response, store_router

if TYPE_CHECKING:
    from loopml.workspace import Workspace

#: Environment variable holding the spec ``loopml server --workers N`` hands each worker.
SERVER_SPEC_ENV = "LOOPML_SERVER_SPEC"

#: Optional router factories other modules add: (module, factory, mount prefixes).
_ROUTERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("loopml.server._artifacts", "artifact_router", ("",)),
    ("loopml.server._mlflow", "mlflow_router", ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")),
    ("loopml.server._mlflow", "mlflow_artifacts_router", ("",)),
    ("loopml.server._ui", "ui_router", ("",)),
)

_log = logging.getLogger("loopml.server")
_STATUS_KIND = {
    404: "NotFound",
    405: "InvalidInput",
    401: "Unauthenticated",
    403: "PermissionDenied",
}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers, media_type="application/json")


def create_app(workspace: Workspace | None = None, *, auth: bool = True) -> FastAPI:
    """The loopml server over ``workspace`` (default: the current one).

    Every Store operation is a route under ``/api/v1/...`` (see
    :data:`loopml.store.rest.OPERATIONS`), with its schema at ``/openapi.json``;
    ``GET /api/v1/health`` answers without a token. The artifact and MLflow routers are
    included when their modules are installed.

    Args:
        workspace: The workspace served; its store must be a database, not another server.
        auth: True (default) requires ``Authorization: Bearer <token>`` on every request;
            False acts as the workspace's local principal (embedded, single-user use).

    Raises:
        ConfigError: The workspace's store is itself a server (``LOOPML_SERVER_URL``).

    Example:
        >>> import loopml, tempfile
        >>> app = create_app(loopml.Workspace.open(home=tempfile.mkdtemp()), auth=False)
        >>> app.title
        'loopml'
    """
    if workspace is None:
        from loopml.workspace import current_workspace

        workspace = current_workspace()
    if workspace.settings.server_url:
        raise ConfigError(
            f"the server's workspace points at another server ({workspace.settings.server_url})",
            hint="Unset LOOPML_SERVER_URL where `loopml server` runs; give it LOOPML_DB_URL.",
        )
    ctx = ServerContext(workspace, auth=auth)
    app = FastAPI(
        title="loopml",
        version=__version__,
        description="The loopml REST API: every capability's store operations.",
        openapi_url="/openapi.json",
    )
    app.state.context = ctx
    defs: dict[str, Any] = {}
    app.include_router(store_router(ctx, defs))

    @app.get("/api/v1/health", tags=["server"], summary="Liveness and version")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "auth": ctx.auth}

    for module_name, factory_name, prefixes in _ROUTERS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        factory = getattr(module, factory_name, None)
        if factory is None:
            continue
        for prefix in prefixes:
            app.include_router(factory(ctx), prefix=prefix)

    @app.exception_handler(LoopmlError)
    async def loopml_error(request: Request, exc: LoopmlError) -> Response:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _json(
            400,
            {
                "error": "InvalidInput",
                "message": f"{where}: {first.get('msg', 'invalid request')}",
                "hint": "See the request schema at /openapi.json.",
                "field": where,
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _json(
            exc.status_code,
            {
                "error": _STATUS_KIND.get(exc.status_code, "LoopmlError"),
                "message": str(exc.detail),
                "hint": "See /openapi.json for the routes.",
            },
            dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        _log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _json(
            500,
            {
                "error": "StoreError",
                "message": f"the server failed on {request.method} {request.url.path}: "
                f"{type(exc).__name__}",
                "hint": "This is a loopml bug; the server log has the traceback.",
            },
        )

    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = base_openapi()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(defs)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """The app ``loopml server --workers N`` starts in each worker (uvicorn factory)."""
    from loopml.workspace import workspace_for_spec

    spec = json.loads(os.environ[SERVER_SPEC_ENV])
    return create_app(workspace_for_spec(spec["workspace"]), auth=spec["auth"])
