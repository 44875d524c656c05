"""The demo's servers: uvicorn on 127.0.0.1 (a free port) in a thread of the demo's process.

Running in-process lets the demo seal the live prediction logs before each monitor cycle
(:func:`loopml.serving.live_logs`), so a window sees every row sent so far.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any


class Server:
    """uvicorn in a thread, bound to a socket we opened (so the port is known up front)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="demo-server", daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo's prediction server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True  # graceful: the prediction log is flushed on the way out
        self.thread.join(timeout=60)
        self.sock.close()
