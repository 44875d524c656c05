"""A real artifact server process on loopback, started per test and stopped by PID."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.server.artifact_app import ArtifactServer, start_server, stop_server


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
