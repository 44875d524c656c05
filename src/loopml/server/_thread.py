"""Run the server in a background thread on a loopback port (docs, tests, notebooks)."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

from loopml.errors import StoreUnavailable

if TYPE_CHECKING:
    from collections.abc import Iterator

    from loopml.workspace import Workspace


@contextmanager
def running_server(
    workspace: Workspace, *, auth: bool = True, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Serve ``workspace`` in a thread for the duration of the block; yields the base URL.

    Args:
        workspace: The workspace served.
        auth: As for :func:`create_app`.
        host: Interface to bind (loopback by default).
        port: Port (0: a free one).

    Example:
        >>> import loopml, tempfile
        >>> ws = loopml.Workspace.open(home=tempfile.mkdtemp())
        >>> with running_server(ws, auth=False) as url:
        ...     url.startswith("http://127.0.0.1:")
        True
    """
    import uvicorn

    from loopml.server._app import create_app

    app = create_app(workspace, auth=auth)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="loopml-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise StoreUnavailable(f"the loopml server on {host}:{bound} did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
