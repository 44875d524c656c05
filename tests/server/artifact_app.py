"""A server process with only the artifact endpoints, for tests and the 5 GB benchmark.

Run as ``python -m tests.server.artifact_app PORT``: the workspace comes from the
environment (``LOOPML_HOME``, ``LOOPML_ARTIFACT_URL``, ``LOOPML_ENCRYPTION_KEY``...), as the
real server's does. Until the server's ``create_app`` is merged, the router is mounted on a
bare FastAPI app with the smallest context it needs (a ``workspace`` attribute).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from loopml.server._artifacts import artifact_router
from loopml.workspace import Workspace


@dataclass
class Context:
    """The smallest server context: the workspace served."""

    workspace: Workspace


def make_app(workspace: Workspace) -> FastAPI:
    """A FastAPI app serving ``workspace``'s artifact store."""
    app = FastAPI()
    app.include_router(artifact_router(Context(workspace)))
    return app


def main() -> None:
    """Serve on 127.0.0.1:PORT until terminated."""
    port = int(sys.argv[1])
    uvicorn.run(make_app(Workspace.open()), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
