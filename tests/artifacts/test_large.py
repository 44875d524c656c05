"""A 2 GiB object is stored and read back in constant memory."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SIZE = 2 << 30
MAX_RSS = 100 << 20

# Runs in a fresh interpreter so ru_maxrss measures only this work. The stream repeats one
# random 1 MiB block, so nothing near 2 GiB is ever held in memory; reading back compares
# every chunk with that block, and the reader checks the digest at the end.
SCRIPT = textwrap.dedent(
    """
    import io, json, os, resource, sys, time
    from loopml.artifacts import ArtifactStore

    root, size = sys.argv[1], int(sys.argv[2])
    block = os.urandom(1 << 20)

    class Repeat(io.RawIOBase):
        def __init__(self):
            self.left = size
        def readable(self):
            return True
        def readinto(self, buffer):
            count = min(len(buffer), len(block), self.left)
            buffer[:count] = block[:count]
            self.left -= count
            return count

    store = ArtifactStore(root)
    started = time.perf_counter()
    digest = store.put(Repeat())
    put_s = time.perf_counter() - started
    started = time.perf_counter()
    total = 0
    with store.open(digest) as reader:
        while chunk := reader.read(len(block)):
            assert chunk == block[: len(chunk)], f"wrong bytes at offset {total}"
            total += len(chunk)
        verified = reader.verified
    read_s = time.perf_counter() - started
    # Linux carries ru_maxrss across exec, so it also counts the forked copy of pytest;
    # VmHWM is the peak of this process image alone and is what the test asserts on.
    peak = None
    if os.path.exists("/proc/self/status"):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) * 1024
    print(json.dumps({
        "digest": digest, "size": store.size(digest), "read": total, "verified": verified,
        "put_s": put_s, "read_s": read_s, "vm_hwm_bytes": peak,
        "ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))
    """
)


@pytest.mark.slow
def test_two_gib_round_trip_in_constant_memory(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    if free < 5 << 30:
        pytest.skip(f"needs 5 GiB free disk space at {tmp_path}, has {free / 2**30:.1f} GiB")
    root = tmp_path / "store"
    try:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(root), str(SIZE)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)  # do not leave 2 GiB in pytest's temp dirs
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    print(f"2 GiB round trip: {report}")
    assert report["size"] == report["read"] == SIZE
    assert report["verified"]
    peak = report["vm_hwm_bytes"] or report["ru_maxrss_bytes"]
    assert peak < MAX_RSS, f"peak RSS {peak / 2**20:.1f} MiB while storing and reading 2 GiB"
