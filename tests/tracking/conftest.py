"""A tracking client on a fresh embedded home per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.artifacts import ArtifactStore
from loopml.store.sql import SqlStore
from loopml.tracking import TrackingClient


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TrackingClient]:
    store = SqlStore(f"sqlite:///{tmp_path / 'home' / 'loopml.db'}")
    client = TrackingClient(store, ArtifactStore(str(tmp_path / "home" / "artifacts")))
    yield client
    client.close()
    store.close()
