"""`loopml server` as a child process on a chosen loopback port (tests that kill it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    home: Path, port: int, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start ``loopml server`` on ``home`` and wait until it answers its health check."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    child_env.update(LOOPML_HOME=str(home), **(env or {}))
    log = (home / f"server-{port}-{time.monotonic_ns()}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopml", "server", "--port", str(port), *args],
        env=child_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc)
            pytest.fail(f"loopml server did not start (exit {proc.returncode}); see {home}")
        time.sleep(0.2)


def stop_server(proc: subprocess.Popen[str]) -> None:
    """Stop a server this test started (SIGTERM, then SIGKILL)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
