"""A writer killed with SIGKILL in the middle of ``put`` leaves no visible object."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from loopml.artifacts import ArtifactStore

CHUNKS = 48
BLOCK = 1 << 20

# The writer streams CHUNKS blocks of 1 MiB; after the first three it drops a marker file so
# the test knows the put is under way, then slows down so it is still running when killed.
WRITER = textwrap.dedent(
    """
    import io, sys, time
    from pathlib import Path
    from loopml.artifacts import ArtifactStore

    root, marker, chunks, block = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

    def blocks():
        for index in range(chunks):
            if index == 3:
                marker.write_text("mid-write")
            if index >= 3:
                time.sleep(0.2)
            yield bytes([index % 251]) * block

    class Slow(io.RawIOBase):
        def __init__(self):
            self._blocks = blocks()
        def readable(self):
            return True
        def readinto(self, buffer):
            data = next(self._blocks, b"")
            buffer[: len(data)] = data
            return len(data)

    ArtifactStore(root, chunk_size=block).put(Slow())
    print("finished: the test should have killed this writer", file=sys.stderr)
    """
)


def _payload() -> bytes:
    return b"".join(bytes([index % 251]) * BLOCK for index in range(CHUNKS))


def test_killed_writer_leaves_no_partial_object(tmp_path: Path) -> None:
    if not hasattr(signal, "SIGKILL"):
        pytest.skip("SIGKILL is POSIX-only")
    root = str(tmp_path / "store")
    marker = tmp_path / "marker"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, root, str(marker), str(CHUNKS), str(BLOCK)],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if writer.poll() is not None:
                pytest.fail(f"writer exited early: {writer.stderr.read().decode()}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                pytest.fail("writer never reached the middle of its put")
            time.sleep(0.01)
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        writer.stderr.close()  # type: ignore[union-attr]
    assert writer.returncode == -signal.SIGKILL

    store = ArtifactStore(root)
    expected = hashlib.sha256(_payload()).hexdigest()
    leftovers = list((tmp_path / "store" / "tmp").iterdir())
    assert len(leftovers) == 1 and leftovers[0].stat().st_size >= 2 * BLOCK  # killed mid-write
    assert not store.exists(expected)
    assert list(store.iter_digests()) == []
    assert not any(p.is_file() for p in (tmp_path / "store" / "objects").rglob("*"))

    assert store.put(_payload()) == expected
    assert list(store.iter_digests()) == [expected]
    assert store.get(expected) == _payload()
    assert store.cleanup_tmp(older_than_s=0) == 1
    assert list((tmp_path / "store" / "tmp").iterdir()) == []
