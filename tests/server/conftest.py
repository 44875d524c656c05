"""A real artifact server process on loopback, started per test and stopped by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

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


@pytest.fixture
def artifact_server_factory(
    tmp_path: Path,
) -> Iterator[Callable[..., ArtifactServer]]:
    """Start artifact servers (``factory(env=...)``); every one is stopped afterwards."""
    started: list[ArtifactServer] = []

    def factory(env: Mapping[str, str] | None = None, name: str = "home") -> ArtifactServer:
        server = start_server(tmp_path / name, env)
        started.append(server)
        return server

    yield factory
    for server in started:
        stop_server(server.process)


@pytest.fixture
def artifact_server(artifact_server_factory: Callable[..., ArtifactServer]) -> ArtifactServer:
    """One artifact server on a fresh local home."""
    return artifact_server_factory()
