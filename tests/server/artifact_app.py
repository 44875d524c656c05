"""A server process with only the artifact endpoints, for tests and the 5 GB benchmark.

Run as ``python -m tests.server.artifact_app PORT``: the workspace comes from the
environment (``LOOPML_HOME``, ``LOOPML_ARTIFACT_URL``, ``LOOPML_ENCRYPTION_KEY``...), as the
real server's does. Until the server's ``create_app`` is merged, the router is mounted on a
bare FastAPI app with the smallest context it needs (a ``workspace`` attribute).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from loopml.errors import LoopmlError
from loopml.server._artifacts import artifact_router, error_response
from loopml.workspace import Workspace


@dataclass
class Context:
    """The smallest server context: the workspace served."""

    workspace: Workspace


def make_app(workspace: Workspace, ctx: object | None = None) -> FastAPI:
    """A FastAPI app serving ``workspace``'s artifact store (errors as the server's)."""
    app = FastAPI()
    app.include_router(artifact_router(ctx or Context(workspace)))  # type: ignore[arg-type]

    @app.exception_handler(LoopmlError)
    async def loopml_error(request: object, exc: LoopmlError) -> object:
        return error_response(exc)

    return app


def main() -> None:
    """Serve on 127.0.0.1:PORT until terminated."""
    port = int(sys.argv[1])
    uvicorn.run(make_app(Workspace.open()), host="127.0.0.1", port=port, log_level="warning")


ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ArtifactServer:
    """A running server: its URL and process."""

    url: str
    process: subprocess.Popen[bytes]
    home: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(home: Path, env: Mapping[str, str] | None = None) -> ArtifactServer:
    """Start ``tests.server.artifact_app`` on a free port and wait until it answers."""
    port = free_port()
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("LOOPML_SERVER", "LOOPML_ENC"))
    }
    environ.update({"LOOPML_HOME": str(home), **(env or {})})
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.server.artifact_app", str(port)],
        env=environ,
        cwd=home.parent,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"the artifact server exited: {err}")
        try:
            httpx.get(f"{url}/api/v1/artifacts", timeout=2)
            return ArtifactServer(url, process, home)
        except httpx.TransportError:
            time.sleep(0.1)
    stop_server(process)
    raise AssertionError("the artifact server did not answer within 60 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stderr:
        process.stderr.close()


if __name__ == "__main__":
    main()
