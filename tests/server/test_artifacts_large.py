"""A large artifact up and down through a real server process, in flat server memory.

The bytes are generated as a stream (one random 1 MiB block repeated) and checked as they
come back; the server's peak RSS (VmHWM) must stay far below the object's size. The size is
1 GiB unless ``LOOPML_TEST_LARGE_ARTIFACT_GIB`` says otherwise (``=5`` is the issue's 5 GB
case; it needs about twice the size free under the temp dir). The 5 GiB run with timings is
also ``benchmarks/artifacts_transfer.py``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import pytest

from loopml.artifacts._remote import RemoteArtifactStore
from tests.server.artifact_app import ArtifactServer

SIZE_ENV = "LOOPML_TEST_LARGE_ARTIFACT_GIB"
MAX_SERVER_RSS = 200 << 20


def artifact_size() -> int:
    """The test object's size in bytes: ``LOOPML_TEST_LARGE_ARTIFACT_GIB`` GiB (default 1)."""
    raw = os.environ.get(SIZE_ENV, "1")
    try:
        gib = float(raw)
    except ValueError:
        raise pytest.UsageError(f"{SIZE_ENV}={raw!r} is not a number of GiB; set e.g. 5") from None
    if not 0 < gib <= 64:
        raise pytest.UsageError(f"{SIZE_ENV}={raw!r} is out of range; use a size in (0, 64] GiB")
    return int(gib * (1 << 30)) // (1 << 20) * (1 << 20) or 1 << 20


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


class Repeat:
    """``size`` bytes of one block, repeated, read like a file."""

    def __init__(self, block: bytes, size: int) -> None:
        self.block = block
        self.left = size

    def readinto(self, buffer: memoryview) -> int:
        view = memoryview(buffer).cast("B")
        count = min(view.nbytes, len(self.block), self.left)
        view[:count] = self.block[:count]
        self.left -= count
        return count

    def read(self, size: int = -1) -> bytes:
        buffer = bytearray(min(size, len(self.block)) if size >= 0 else len(self.block))
        return bytes(buffer[: self.readinto(memoryview(buffer))])


def peak_rss(pid: int) -> int:
    """The process's peak resident set (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def test_large_round_trip_keeps_server_memory_flat(artifact_server: ArtifactServer) -> None:
    size = artifact_size()
    block = os.urandom(1 << 20)
    expected = hashlib.sha256()
    for _ in range(size // len(block)):
        expected.update(block)
    client = RemoteArtifactStore(artifact_server.url)
    try:
        digest = client.put(Repeat(block, size))
        assert digest == expected.hexdigest()
        assert client.size(digest) == size
        received = 0
        with client.open(digest) as reader:
            while chunk := reader.read(len(block)):
                assert chunk == block[: len(chunk)], f"wrong bytes at offset {received}"
                received += len(chunk)
            assert reader.verified
        assert received == size
        peak = peak_rss(artifact_server.process.pid)
        assert peak < MAX_SERVER_RSS, (
            f"server peak RSS {peak >> 20} MiB for a {size >> 20} MiB object"
        )
        client.delete(digest)
    finally:
        client.close()
        shutil.rmtree(artifact_server.home / "artifacts", ignore_errors=True)
