"""A 1 GiB artifact up and down through a real server process, in flat server memory.

The bytes are generated as a stream (one random 1 MiB block repeated) and checked as they
come back; the server's peak RSS (VmHWM) must stay far below the object's size. The 5 GiB
case (about 70 s here) is ``benchmarks/artifacts_transfer.py``.
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

SIZE = 1 << 30
MAX_SERVER_RSS = 200 << 20

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


def test_one_gib_round_trip_keeps_server_memory_flat(artifact_server: ArtifactServer) -> None:
    block = os.urandom(1 << 20)
    expected = hashlib.sha256()
    for _ in range(SIZE // len(block)):
        expected.update(block)
    client = RemoteArtifactStore(artifact_server.url)
    try:
        digest = client.put(Repeat(block, SIZE))
        assert digest == expected.hexdigest()
        assert client.size(digest) == SIZE
        received = 0
        with client.open(digest) as reader:
            while chunk := reader.read(len(block)):
                assert chunk == block[: len(chunk)], f"wrong bytes at offset {received}"
                received += len(chunk)
            assert reader.verified
        assert received == SIZE
        peak = peak_rss(artifact_server.process.pid)
        assert peak < MAX_SERVER_RSS, f"server peak RSS {peak >> 20} MiB for a 1 GiB object"
        client.delete(digest)
    finally:
        client.close()
        shutil.rmtree(artifact_server.home / "artifacts", ignore_errors=True)
