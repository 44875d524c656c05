"""ArtifactStore behaviour: layout, errors, maintenance and the settings factory."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import Any

import fsspec
import pytest

from loopml.artifacts import DEFAULT_CHUNK_SIZE, ArtifactStore, open_artifact_store
from loopml.config import Settings
from loopml.errors import (
    DigestMismatch,
    HomeNotWritable,
    InvalidInput,
    InvalidReference,
    MissingExtra,
    NotFound,
)
from loopml.ids import sha256_hex

from .conftest import object_path

HELLO = sha256_hex(b"hello")


def test_layout_puts_objects_under_two_character_folders(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    digest = store.put(b"hello")
    assert (tmp_path / "store" / "objects" / digest[:2] / digest[2:]).read_bytes() == b"hello"
    assert list((tmp_path / "store" / "tmp").iterdir()) == []


def test_file_url_and_relative_path_are_local(tmp_path: Path) -> None:
    by_url = ArtifactStore(f"file://{tmp_path / 'a'}")
    by_url.put(b"hello")
    assert (tmp_path / "a" / "objects" / HELLO[:2] / HELLO[2:]).is_file()
    relative = ArtifactStore(".loopml/artifacts")  # the autouse fixture chdirs to tmp_path
    relative.put(b"hello")
    assert (tmp_path / ".loopml" / "artifacts" / "objects" / HELLO[:2]).is_dir()


def test_open_artifact_store_uses_the_settings_url(settings: Settings) -> None:
    store = open_artifact_store(settings, chunk_size=1 << 20)
    assert store.url == settings.artifact_url
    assert store.chunk_size == 1 << 20
    digest = store.put(b"hello")
    assert (settings.home / "artifacts" / "objects" / digest[:2] / digest[2:]).is_file()
    assert repr(store) == f"ArtifactStore({settings.artifact_url!r})"


def test_missing_digest_raises_not_found(store: ArtifactStore, tmp_path: Path) -> None:
    for call in (
        store.get,
        store.open,
        store.size,
        store.delete,
        lambda d: store.get_file(d, tmp_path / "x"),
    ):
        with pytest.raises(NotFound) as caught:
            call(HELLO)
        assert caught.value.kind == "artifact" and caught.value.ident == HELLO
        assert isinstance(caught.value, LookupError)
        assert caught.value.hint and store.url in caught.value.hint
    assert not store.exists(HELLO)
    assert not (tmp_path / "x").exists()
    store.delete(HELLO, missing_ok=True)


@pytest.mark.parametrize("bad", ["", "abc", "g" * 64, HELLO + "0", "md5:" + HELLO[:32]])
def test_malformed_digest_raises_invalid_reference(store: ArtifactStore, bad: str) -> None:
    for call in (store.get, store.open, store.exists, store.size, store.delete):
        with pytest.raises(InvalidReference):
            call(bad)


def test_prefixed_and_uppercase_digests_are_accepted(store: ArtifactStore) -> None:
    digest = store.put(b"hello")
    assert store.get("sha256:" + digest) == b"hello"
    assert store.exists(digest.upper())


def test_unwritable_root_raises_home_not_writable(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("a regular file, so nothing can be created below it")
    with pytest.raises(HomeNotWritable) as caught:
        ArtifactStore(str(blocker / "store"))
    assert str(blocker / "store") in str(caught.value)
    assert caught.value.hint and "LOOPML_ARTIFACT_URL" in caught.value.hint
    assert isinstance(caught.value, PermissionError)


def test_s3_without_s3fs_raises_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = fsspec.get_filesystem_class

    def without_s3(protocol: str) -> Any:
        if protocol in ("s3", "s3a"):
            raise ImportError("Install s3fs to access S3")
        return real(protocol)

    monkeypatch.setattr(fsspec, "get_filesystem_class", without_s3)
    with pytest.raises(MissingExtra) as caught:
        ArtifactStore("s3://bucket/artifacts")
    assert caught.value.extra == "s3"
    assert "loopml[s3]" in str(caught.value)
    assert isinstance(caught.value, ImportError)


def test_unknown_protocol_and_bad_options_raise_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown storage protocol"):
        ArtifactStore("nosuchproto://x/y")
    with pytest.raises(InvalidInput, match="empty"):
        ArtifactStore("  ")
    with pytest.raises(InvalidInput, match="chunk_size"):
        ArtifactStore(str(tmp_path), chunk_size=10)


def test_put_rejects_what_it_cannot_store(store: ArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="type int"):
        store.put(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="binary mode"):
        store.put(io.StringIO("text"))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="cannot read"):
        store.put_file(tmp_path / "missing.bin")
    with pytest.raises(InvalidInput, match="cannot read"):
        store.put(tmp_path)  # a folder
    assert list(store.iter_digests()) == []
    assert store._list(store._tmp) == []


def test_failing_stream_leaves_nothing_behind(store: ArtifactStore) -> None:
    class Broken(io.RawIOBase):
        calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            self.calls += 1
            if self.calls > 2:
                raise OSError("network went away")
            buffer[:10] = b"0123456789"
            return 10

    with pytest.raises(OSError, match="network went away"):
        store.put(Broken())
    assert list(store.iter_digests()) == []
    assert store._list(store._tmp) == []


def test_put_many_returns_digests_in_order(store: ArtifactStore, tmp_path: Path) -> None:
    paths = []
    for index in range(6):
        path = tmp_path / f"f{index}.bin"
        path.write_bytes(os.urandom(1000 * index))
        paths.append(path)
    paths.append(paths[0])  # duplicates are fine
    digests = store.put_many(paths)
    assert digests == [sha256_hex(p.read_bytes()) for p in paths]
    assert sorted(set(digests)) == list(store.iter_digests())
    assert store.put_many([]) == []


def test_iter_digests_is_sorted_and_ignores_strays(store: ArtifactStore) -> None:
    digests = {store.put(os.urandom(64)) for _ in range(20)}
    fs = store._fs
    for folder in ("zz", "ab"):
        fs.makedirs(f"{store._objects}/{folder}", exist_ok=True)
    fs.pipe_file(f"{store._objects}/zz/not-a-digest", b"x")
    fs.pipe_file(f"{store._objects}/ab/short", b"x")
    fs.pipe_file(f"{store._tmp}/{'0' * 32}", b"partial")
    assert list(store.iter_digests()) == sorted(digests)


def test_delete_removes_the_object(store: ArtifactStore) -> None:
    digest = store.put(b"hello")
    store.delete(digest)
    assert not store.exists(digest)
    assert list(store.iter_digests()) == []
    assert store.put(b"hello") == digest


def test_cleanup_tmp_removes_only_old_temporaries(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    old = tmp_path / "store" / "tmp" / "old"
    new = tmp_path / "store" / "tmp" / "new"
    old.write_bytes(b"stale")
    new.write_bytes(b"fresh")
    past = time.time() - 7200
    os.utime(old, (past, past))
    assert store.cleanup_tmp(older_than_s=3600) == 1
    assert not old.exists() and new.exists()
    assert store.cleanup_tmp(older_than_s=0) == 1


def test_cleanup_tmp_on_memory(store: ArtifactStore) -> None:
    store._fs.pipe_file(f"{store._tmp}/leftover", b"partial")
    assert store.cleanup_tmp(older_than_s=3600) == 0
    assert store.cleanup_tmp(older_than_s=0) == 1
    assert store.cleanup_tmp(older_than_s=0) == 0


def test_truncated_object_is_replaced_by_the_next_put(store: ArtifactStore) -> None:
    data = os.urandom(5000)
    digest = store.put(data)
    store._fs.pipe_file(object_path(store, digest), data[:100])
    with pytest.raises(DigestMismatch):
        store.get(digest)
    assert store.put(data) == digest
    assert store.get(digest) == data


def test_reader_streams_in_pieces_and_verifies_at_the_end(store: ArtifactStore) -> None:
    data = os.urandom(3 * DEFAULT_CHUNK_SIZE // 2)
    digest = store.put(data)
    with store.open(digest) as reader:
        assert not reader.seekable()
        first = reader.read(1000)
        assert not reader.verified
        assert reader.tell() == 1000
        rest = reader.read(len(data) - 1000)  # exactly the remainder: no extra EOF read needed
        assert reader.verified
        assert reader.read() == b""
    assert first + rest == data
    assert "verified=True" in repr(reader)


def test_reader_withholds_the_final_bytes_of_an_altered_object(store: ArtifactStore) -> None:
    data = os.urandom(3 << 20)  # larger than the reader's 1 MiB read-ahead buffer
    digest = store.put(data)
    altered = bytearray(data)
    altered[-1] ^= 0xFF
    store._fs.pipe_file(object_path(store, digest), bytes(altered))
    with store.open(digest) as reader:
        assert reader.read(4000) == data[:4000]  # not yet known to be bad, not yet verified
        with pytest.raises(DigestMismatch):
            reader.read()
        with pytest.raises(DigestMismatch):  # and it stays failed
            reader.read(1)
        assert not reader.verified


def test_readline_and_iteration_work(store: ArtifactStore) -> None:
    digest = store.put(b"a\nb\nc")
    with store.open(digest) as reader:
        assert list(reader) == [b"a\n", b"b\n", b"c"]
        assert reader.verified
