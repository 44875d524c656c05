"""The shared loopml server: the REST API over a workspace (see docs/server.md)."""

from loopml.server._context import IDEMPOTENCY_HEADER, ServerContext
from loopml.server._mlflow import mlflow_artifacts_router, mlflow_router

__all__ = ["IDEMPOTENCY_HEADER", "ServerContext", "mlflow_artifacts_router", "mlflow_router"]
