"""Property tests: round trip, dedup and tamper detection on local and memory:// stores."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from loopml.artifacts import ArtifactStore
from loopml.errors import DigestMismatch

from .conftest import tamper

# The autouse environment fixtures are function-scoped but hold nothing examples could share.
_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


# Small payloads from hypothesis itself, plus larger ones spanning several 64 KiB chunks.
payloads = st.one_of(
    st.binary(max_size=2048),
    st.builds(_random_bytes, st.integers(0, 2**32), st.integers(0, 300_000)),
)


class ShortReads:
    """A stream with ``read`` only (no ``readinto``) that returns at most ``step`` bytes."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = io.BytesIO(data)
        self._step = step

    def read(self, size: int = -1) -> bytes:
        limit = self._step if size < 0 else min(size, self._step)
        return self._data.read(limit)


@_SETTINGS
@given(data=payloads, how=st.sampled_from(["bytes", "file", "stream", "short-reads"]))
@example(data=b"", how="bytes")
@example(data=b"", how="file")
@example(data=b"", how="stream")
def test_round_trip(store: ArtifactStore, tmp_path: Path, data: bytes, how: str) -> None:
    if how == "bytes":
        digest = store.put(data)
    elif how == "file":
        source = tmp_path / "source.bin"
        source.write_bytes(data)
        digest = store.put(source) if len(data) % 2 else store.put_file(str(source))
    elif how == "stream":
        digest = store.put(io.BytesIO(data))
    else:
        digest = store.put(ShortReads(data, step=7919))

    assert digest == hashlib.sha256(data).hexdigest()
    assert store.exists(digest)
    assert store.size(digest) == len(data)
    assert store.get(digest) == data
    with store.open(digest) as reader:
        assert reader.read() == data
        assert reader.verified
    dest = store.get_file(digest, tmp_path / "out" / "copy.bin")
    assert dest.read_bytes() == data
    assert digest in set(store.iter_digests())


@_SETTINGS
@given(data=payloads)
def test_same_bytes_are_stored_once(store: ArtifactStore, data: bytes) -> None:
    first = store.put(data)
    before = list(store.iter_digests())
    second = store.put(io.BytesIO(data))
    third = store.put(bytearray(data))
    assert first == second == third
    assert list(store.iter_digests()) == before
    assert before.count(first) == 1
    assert store._list(store._tmp) == []  # the duplicate temporaries were discarded


@_SETTINGS
@given(data=payloads.filter(len), index=st.integers(min_value=0))
def test_altered_bytes_are_detected(
    store: ArtifactStore, tmp_path: Path, data: bytes, index: int
) -> None:
    digest = store.put(data)
    tamper(store, digest, index)
    location = store._location(store._path(digest))

    with pytest.raises(DigestMismatch) as caught:
        store.get(digest)
    assert caught.value.digest == digest
    assert caught.value.location == location
    assert digest in str(caught.value) and location in str(caught.value)

    with store.open(digest) as reader, pytest.raises(DigestMismatch):
        while reader.read(50_000):
            pass
    assert not reader.verified

    dest = tmp_path / "victim.bin"
    dest.write_bytes(b"previous contents")
    with pytest.raises(DigestMismatch):
        store.get_file(digest, dest)
    assert dest.read_bytes() == b"previous contents"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".victim")) == []

    store.delete(digest)  # the next example may draw the same bytes
