from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.artifacts import ArtifactStore
from loopml.data import DataRepo
from loopml.store.sql import SqlStore


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[DataRepo]:
    store = SqlStore(f"sqlite:///{tmp_path / 'home' / 'loopml.db'}")
    try:
        yield DataRepo(
            store, ArtifactStore(str(tmp_path / "home" / "artifacts")), tmp_path / "cache"
        )
    finally:
        store.close()


def store_bytes(repo: DataRepo) -> int:
    return sum(repo.artifacts.size(d) for d in repo.artifacts.iter_digests())
