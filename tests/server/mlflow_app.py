"""A loopml server with only the MLflow routers: ``python -m tests.server.mlflow_app PORT``.

The full server (``loopml server``, on branch h/server) mounts the same router; this stand-in
keeps the MLflow tests independent of it. It serves the workspace of ``LOOPML_HOME`` on
127.0.0.1 only, with auth off (the local principal) unless ``--auth`` is given.
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI

from loopml import Workspace
from loopml.server import ServerContext
from loopml.server._mlflow import PREFIXES, mlflow_artifacts_router, mlflow_router


def build_app(workspace: Workspace, *, auth: bool = False) -> FastAPI:
    """A FastAPI app serving MLflow's tracking API over ``workspace``."""
    app = FastAPI(title="loopml (MLflow tracking API)")
    ctx = ServerContext(workspace, auth=auth)
    for prefix in PREFIXES:  # as the full server's create_app mounts them
        app.include_router(mlflow_router(ctx), prefix=prefix)
    app.include_router(mlflow_artifacts_router(ctx))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    workspace = Workspace.open()
    auth = "--auth" in sys.argv[2:]
    try:
        app = build_app(workspace, auth=auth)
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
    finally:
        workspace.close()


if __name__ == "__main__":
    main()
