"""Packs: batches of small files stored in one file, found by every method like loose ones."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopml.artifacts import PACK_MIN_FILES, ArtifactStore
from loopml.errors import DamagedPackIndex, DigestMismatch, NotFound


def _files(folder: Path, count: int, *, size: int = 1000, seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"f{index:04d}.bin"
        path.write_bytes(hashlib.sha256(f"{seed}-{index}".encode()).digest() * (size // 32))
        paths.append(path)
    return paths


def _packs(root: Path) -> list[str]:
    folder = root / "packs"
    names = os.listdir(folder) if folder.exists() else []
    return sorted(n for n in names if not n.startswith("."))  # not the rewrite lock


def _loose(root: Path) -> list[Path]:
    return [p for p in (root / "objects").rglob("*") if p.is_file()]


def test_a_batch_goes_into_one_pack_and_reads_like_loose_objects(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = ArtifactStore(str(root))
    paths = _files(tmp_path / "in", 40)
    digests = store.put_many(paths)

    assert digests == [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    assert [n.rsplit(".", 1)[1] for n in _packs(root)] == ["idx", "pack"]
    assert _loose(root) == []
    for path, digest in zip(paths, digests, strict=True):
        data = path.read_bytes()
        assert store.exists(digest) and store.size(digest) == len(data)
        assert store.get(digest) == data
        with store.open(digest) as reader:
            assert reader.read() == data and reader.verified
        assert store.materialize(digest, tmp_path / "out" / path.name) == "copy"
        assert (tmp_path / "out" / path.name).read_bytes() == data
    assert list(store.iter_digests()) == sorted(set(digests))
    # A second store on the same folder (another process, say) sees the pack too.
    assert ArtifactStore(str(root)).get(digests[7]) == paths[7].read_bytes()


def test_a_small_batch_stays_loose_and_links(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = ArtifactStore(str(root))
    paths = _files(tmp_path / "in", PACK_MIN_FILES - 1)
    digests = store.put_many(paths)
    assert _packs(root) == [] and len(_loose(root)) == len(paths)
    assert store.materialize(digests[0], tmp_path / "out.bin") == "link"


def test_stored_bytes_are_not_stored_again(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = ArtifactStore(str(root))
    paths = _files(tmp_path / "in", 30)
    copies = _files(tmp_path / "copy", 30)  # the same bytes under other names
    first = store.put_many(paths)
    packs = _packs(root)
    assert store.put_many(copies) == first
    assert store.put_many(paths + copies) == first + first
    assert store.put(paths[3].read_bytes()) == first[3]  # a single put finds it packed too
    assert _packs(root) == packs and _loose(root) == []
    duplicated = _files(tmp_path / "dup", 20, seed=9) * 2  # duplicates inside one batch
    store.put_many(duplicated)
    size = sum(os.path.getsize(root / "packs" / n) for n in _packs(root) if n.endswith(".pack"))
    assert size == 50 * 992  # 30 + 20 distinct objects of 992 bytes, each once


def test_tampered_pack_byte_is_detected(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = ArtifactStore(str(root))
    paths = _files(tmp_path / "in", 20)
    digests = store.put_many(paths)
    pack = next(root / "packs" / n for n in _packs(root) if n.endswith(".pack"))
    pack.chmod(0o644)
    data = bytearray(pack.read_bytes())
    data[992 * 5 + 10] ^= 0x01  # inside one object; which one depends on pack order
    pack.write_bytes(bytes(data))
    broken = [d for d in digests if _reads_wrong(store, d)]
    assert len(broken) == 1
    with pytest.raises(DigestMismatch) as caught:
        store.get(broken[0])
    assert str(pack) in caught.value.location


def _reads_wrong(store: ArtifactStore, digest: str) -> bool:
    try:
        store.get(digest)
    except DigestMismatch:
        return True
    return False


def test_damaged_index_is_reported_and_repaired_by_storing_again(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = ArtifactStore(str(root))
    paths = _files(tmp_path / "in", 20)
    digests = store.put_many(paths)
    others = store.put_many(_files(tmp_path / "other", 20, seed=5))
    index = next(
        root / "packs" / n for n in _packs(root) if n.endswith(".idx") and _holds(root, n, digests)
    )
    index.chmod(0o644)
    index.write_bytes(index.read_bytes()[:-5])

    fresh = ArtifactStore(str(root))
    assert fresh.get(others[0])  # the intact pack still reads
    with pytest.raises(DamagedPackIndex) as caught:
        fresh.get(digests[0])
    assert str(index) in str(caught.value) and "trailer" in str(caught.value)
    assert isinstance(caught.value, DigestMismatch) and isinstance(caught.value, NotFound)
    fresh.delete(digests[0], missing_ok=True)  # callers that skip missing objects go on
    assert not fresh.exists(digests[0])
    assert fresh.put_many(paths) == digests  # storing the bytes again makes them readable
    assert [fresh.get(d) for d in digests] == [p.read_bytes() for p in paths]


def _holds(root: Path, index_name: str, digests: list[str]) -> bool:
    from loopml.artifacts._packs import _decode_index

    records = _decode_index((root / "packs" / index_name).read_bytes())
    return digests[0] in {digest for digest, _, _ in records}


def test_delete_rewrites_the_pack_without_the_object(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = ArtifactStore(str(root))
    paths = _files(tmp_path / "in", 25)
    digests = store.put_many(paths)
    loose = store.put(b"a loose object")

    assert store.delete_many([digests[0], digests[1], loose, "0" * 64]) == 3
    store.delete(digests[2])
    with pytest.raises(NotFound):
        store.delete(digests[2])
    store.delete(digests[2], missing_ok=True)
    for digest in digests[:3] + [loose]:
        assert not store.exists(digest)
        with pytest.raises(NotFound):
            store.get(digest)
    for path, digest in zip(paths[3:], digests[3:], strict=True):
        assert store.get(digest) == path.read_bytes()
    assert len(_packs(root)) == 2  # one pack and its index: the old ones are gone
    assert list(store.iter_digests()) == sorted(digests[3:])


def test_tracking_gc_frees_packed_artifacts(tmp_path: Path) -> None:
    from loopml.store.sql import SqlStore
    from loopml.tracking import TrackingClient

    store = SqlStore(f"sqlite:///{tmp_path / 'home' / 'loopml.db'}")
    client = TrackingClient(store, ArtifactStore(str(tmp_path / "home" / "artifacts")))
    folder, kept = tmp_path / "model", tmp_path / "kept"
    _files(folder, 20)
    _files(kept, 20, seed=1)
    with client.start_run(name="packed") as run:
        run.log_artifact(folder)
    with client.start_run(name="kept") as other:
        other.log_artifact(kept)
    client.delete_runs([run.id])
    report = client.gc()
    artifacts = client.require_artifacts()
    assert len(report.freed) == 20 and report.bytes_freed == 20 * 992
    assert not any(artifacts.exists(d) for d in report.freed)
    for path in kept.iterdir():
        assert artifacts.get(hashlib.sha256(path.read_bytes()).hexdigest()) == path.read_bytes()
    client.close()
    store.close()


# The writer dies (SIGKILL) after its pack is in place but before the index is published.
KILLED_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from loopml.artifacts import ArtifactStore

    real_rename = os.rename

    def rename(src, dst, *args, **kwargs):
        if str(dst).endswith(".idx"):
            os.kill(os.getpid(), signal.SIGKILL)
        return real_rename(src, dst, *args, **kwargs)

    os.rename = rename
    ArtifactStore(sys.argv[1]).put_many(sys.argv[2:])
    """
)


def test_writer_killed_before_the_index_leaves_nothing_visible(tmp_path: Path) -> None:
    root = tmp_path / "store"
    paths = _files(tmp_path / "in", 20)
    done = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(root), *map(str, paths)],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == -9, done.stderr.decode()
    assert [n.rsplit(".", 1)[1] for n in _packs(root)] == ["pack"]  # moved, not published
    store = ArtifactStore(str(root))
    assert list(store.iter_digests()) == []
    digests = store.put_many(paths)  # a retry stores everything
    assert [store.get(d) for d in digests] == [p.read_bytes() for p in paths]
    # The unpublished pack, and its index, written but never renamed out of tmp/.
    assert store.cleanup_tmp(older_than_s=0) == 2
    assert os.listdir(root / "tmp") == []
    assert [n.rsplit(".", 1)[1] for n in _packs(root)] == ["idx", "pack"]


WRITER = textwrap.dedent(
    """
    import sys
    from loopml.artifacts import ArtifactStore

    store = ArtifactStore(sys.argv[1])
    for _ in range(5):
        store.put_many(sys.argv[2:])
    """
)


def test_two_processes_packing_overlapping_batches(tmp_path: Path) -> None:
    root = tmp_path / "store"
    first = _files(tmp_path / "a", 60)
    second = _files(tmp_path / "b", 60)[30:] + _files(tmp_path / "c", 30, seed=3)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(root), *map(str, batch)])
        for batch in (first, second)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    store = ArtifactStore(str(root))
    expected = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in first + second}
    assert set(store.iter_digests()) == set(expected)
    for digest, path in expected.items():
        assert store.get(digest) == path.read_bytes()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(blobs=st.lists(st.binary(max_size=3000), min_size=PACK_MIN_FILES, max_size=60))
def test_packed_round_trip(tmp_path: Path, blobs: list[bytes]) -> None:
    folder = tmp_path / os.urandom(6).hex()
    folder.mkdir()
    paths = []
    for index, blob in enumerate(blobs):
        path = folder / f"{index}.bin"
        path.write_bytes(blob)
        paths.append(path)
    store = ArtifactStore(str(folder / "store"))
    digests = store.put_many(paths)
    assert [store.get(d) for d in digests] == blobs
    assert sorted(store.iter_digests()) == sorted({hashlib.sha256(b).hexdigest() for b in blobs})


def test_an_object_in_two_packs_survives_deletes_from_either(tmp_path: Path) -> None:
    # Two racing writers can both pack the shared objects; two stores may then map a shared
    # object to different packs. Deleting through one must never lose it for the other.
    root, other = tmp_path / "store", tmp_path / "other"
    shared = _files(tmp_path / "shared", 10)
    store_a = ArtifactStore(str(root))
    a = store_a.put_many(shared + _files(tmp_path / "a", 10, seed=1))  # maps shared -> A
    b = ArtifactStore(str(other)).put_many(shared + _files(tmp_path / "b", 10, seed=2))
    for name in _packs(other):  # B's name sorts first, so a fresh store maps shared -> B
        os.rename(other / "packs" / name, root / "packs" / ("0" * 32 + name[32:]))
    store_b = ArtifactStore(str(root))
    assert set(store_a.iter_digests()) == set(a + b)  # store_a now knows both packs

    store_b.delete_many(a[10:])  # rewrites A without its own objects
    assert [store_a.get(d) for d in a[:10]] == [p.read_bytes() for p in shared]
    store_a.delete_many(b[10:])  # rewrites B without its own objects
    for store in (store_a, store_b, ArtifactStore(str(root))):
        assert [store.get(d) for d in a[:10]] == [p.read_bytes() for p in shared]
        assert not any(store.exists(d) for d in a[10:] + b[10:])


DELETER = textwrap.dedent(
    """
    import os, sys, time
    from loopml.artifacts import ArtifactStore, _packs

    publish = _packs.PackWriter.publish

    def slow_publish(self, **kwargs):  # widen the window in which two rewrites overlap
        time.sleep(0.5)
        return publish(self, **kwargs)

    _packs.PackWriter.publish = slow_publish
    store = ArtifactStore(sys.argv[1])
    store.iter_digests()  # load the indexes before the start signal
    while not os.path.exists(sys.argv[2]):
        time.sleep(0.001)
    print(store.delete_many([sys.argv[3]]))
    """
)


def test_two_processes_deleting_from_one_pack_both_win(tmp_path: Path) -> None:
    root = tmp_path / "store"
    paths = _files(tmp_path / "in", 30)
    digests = ArtifactStore(str(root)).put_many(paths)
    go = tmp_path / "go"
    deleters = [
        subprocess.Popen(
            [sys.executable, "-c", DELETER, str(root), str(go), digest], stdout=subprocess.PIPE
        )
        for digest in digests[:2]
    ]
    go.touch()
    assert [d.communicate(timeout=120)[0].strip() for d in deleters] == [b"1", b"1"]
    store = ArtifactStore(str(root))
    assert sorted(store.iter_digests()) == sorted(digests[2:])
    assert len([n for n in _packs(root) if n.endswith(".pack")]) == 1


def test_cleanup_leaves_a_pack_that_was_just_moved_into_place(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = ArtifactStore(str(root))
    pack = root / "packs" / "0123.pack"
    pack.parent.mkdir(parents=True, exist_ok=True)
    staged = root / "tmp" / "0123.pack"
    staged.write_bytes(b"bytes written long ago")
    os.utime(staged, (1_000_000_000, 1_000_000_000))  # an mtime 30 years old
    os.rename(staged, pack)  # its index is about to follow
    assert store.cleanup_tmp(older_than_s=3600) == 0
    assert pack.exists()


def test_undecodable_and_non_ascii_names_keep_the_old_manifest_bytes(tmp_path: Path) -> None:
    import json

    from loopml.data._manifest import Entry, Manifest

    files = {
        os.fsdecode(b"bad\xff.csv"): Entry("a" * 64, 1),
        "café/naïve.bin": Entry("b" * 64, 2),
        "plain.bin": Entry("c" * 64, 3, profile="d" * 64),
    }
    manifest = Manifest(files)
    body = {"format": "loopml.manifest/1", "files": {p: e.to_json() for p, e in files.items()}}
    old = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    assert manifest.to_bytes() == old  # what manifests written before orjson hold
    assert Manifest.from_bytes(old) == manifest
    plain = Manifest({"plain.bin": files["plain.bin"]})
    body["files"] = {"plain.bin": files["plain.bin"].to_json()}
    assert plain.to_bytes() == json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


FULL_DISK = textwrap.dedent(
    """
    import errno, resource, signal, sys
    from loopml.artifacts import _direct

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))
    try:
        _direct.copy_file_direct(sys.argv[1], sys.argv[2], 256 << 10)
    except OSError as exc:
        print("OSError", errno.errorcode[exc.errno])
    """
)


def test_direct_write_failure_surfaces_the_os_error(tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(3 << 20))
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(source), str(tmp_path / "dest.bin")],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.stdout.decode().strip() == "OSError EFBIG", done.stderr.decode()
