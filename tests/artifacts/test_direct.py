"""Large local files are written with direct I/O: every size, tail and fallback round-trips."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from loopml.artifacts import ArtifactStore, _direct
from loopml.artifacts import _store as store_module

CHUNK = 64 << 10
SIZES = [0, 1, 4095, 4096, 4097, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 12_345]


def _payload(size: int) -> bytes:
    return (hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1))[:size]


@pytest.mark.parametrize("size", SIZES)
def test_direct_copy_round_trips_every_size(tmp_path: Path, size: int) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(_payload(size))
    digest, copied = _direct.copy_file_direct(str(source), str(tmp_path / "dest.bin"), CHUNK)
    assert (digest, copied) == (hashlib.sha256(_payload(size)).hexdigest(), size)
    assert (tmp_path / "dest.bin").read_bytes() == _payload(size)


def test_direct_copy_where_the_filesystem_may_refuse_o_direct(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        pytest.skip("no writable /dev/shm (tmpfs) on this machine")
    source = tmp_path / "source.bin"
    source.write_bytes(_payload(2 * CHUNK + 7))
    dest = shm / f"loopml-direct-{os.getpid()}.bin"
    try:
        digest, size = _direct.copy_file_direct(str(source), str(dest), CHUNK)
        assert dest.read_bytes() == _payload(2 * CHUNK + 7)
        assert digest == hashlib.sha256(_payload(2 * CHUNK + 7)).hexdigest()
    finally:
        dest.unlink(missing_ok=True)


def test_put_file_of_a_large_file_goes_direct_and_dedups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "DIRECT_MIN", CHUNK)
    calls: list[str] = []
    real = _direct.copy_file_direct

    def spy(source: str, dest: str, chunk_size: int) -> tuple[str, int]:
        calls.append(source)
        return real(source, dest, chunk_size)

    monkeypatch.setattr(_direct, "copy_file_direct", spy)
    store = ArtifactStore(str(tmp_path / "store"), chunk_size=CHUNK)
    big = tmp_path / "big.bin"
    big.write_bytes(_payload(5 * CHUNK + 3))
    digest = store.put_file(big)
    assert calls == [str(big)]
    assert store.get(digest) == big.read_bytes()
    assert store.materialize(digest, tmp_path / "out.bin") == "link"
    assert store.put_file(big) == digest and list(store.iter_digests()) == [digest]
    assert os.listdir(tmp_path / "store" / "tmp") == []  # the duplicate copy was discarded
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 100)
    store.put_file(small)
    assert calls == [str(big), str(big)]  # small files take the streaming path
