"""The shared loopml server: the REST API over a workspace (see docs/server.md).

:func:`create_app` builds the FastAPI app; ``loopml server`` runs it with uvicorn. Router
factories (artifacts, the MLflow-compatible API) take a :class:`ServerContext`.
"""

from loopml.server._app import SERVER_SPEC_ENV, app_from_env, create_app
from loopml.server._context import IDEMPOTENCY_HEADER, ServerContext
from loopml.server._mlflow import mlflow_artifacts_router, mlflow_router
from loopml.server._thread import running_server

__all__ = [
    "IDEMPOTENCY_HEADER",
    "SERVER_SPEC_ENV",
    "ServerContext",
    "app_from_env",
    "create_app",
    "mlflow_artifacts_router",
    "mlflow_router",
    "running_server",
]
