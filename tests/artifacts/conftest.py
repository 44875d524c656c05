"""Artifact store fixtures: one store per test, on a local folder and on memory://."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from loopml.artifacts import ArtifactStore

BACKENDS = ["local", "memory"]


def make_store(backend: str, tmp_path: Path, **options: object) -> tuple[ArtifactStore, str]:
    """Return a fresh store on ``backend`` and its URL (memory roots are unique per call)."""
    if backend == "local":
        url = str(tmp_path / f"store-{uuid.uuid4().hex[:8]}")
    else:
        url = f"memory://loopml-test-{uuid.uuid4().hex}/artifacts"
    return ArtifactStore(url, **options), url  # type: ignore[arg-type]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    """A store on a local folder or a unique memory:// root, removed afterwards."""
    created, url = make_store(request.param, tmp_path)
    yield created
    if url.startswith("memory://"):
        fs = fsspec.filesystem("memory")
        root = url.removeprefix("memory://").split("/")[0]
        if fs.exists(f"/{root}"):
            fs.rm(f"/{root}", recursive=True)


def object_path(store: ArtifactStore, digest: str) -> str:
    """The fsspec path of a stored object (tests tamper with it through fsspec)."""
    return store._path(digest)


def tamper(store: ArtifactStore, digest: str, index: int) -> None:
    """Flip one bit of byte ``index`` of the stored object, in place."""
    path = object_path(store, digest)
    fs = store._fs
    data = bytearray(fs.cat_file(path))
    data[index % len(data)] ^= 0x01
    fs.pipe_file(path, bytes(data))
