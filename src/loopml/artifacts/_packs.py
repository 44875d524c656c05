"""Pack files: many small objects in one file, for bulk writes to a local store.

Creating one file per object is what makes a 10,000-file commit slow: on the ext4 disks of
our machines the allocator alone spent 3-6 s of kernel time creating 10,000 files of 10 KiB,
where appending the same bytes to one file took 0.1-0.3 s (see docs/architecture.md). So a
bulk put appends new small objects to one *pack* and writes an *index* beside it, as git
does:

- ``packs/<id>.pack``: the objects' bytes back to back;
- ``packs/<id>.idx``: a header, one ``(sha256, offset, size)`` record per object sorted by
  digest, and the sha256 of everything before it.

The pack is written, flushed and renamed into place first; the index is renamed last, and
that rename publishes the pack. A crash before it leaves a pack without an index, which no
reader sees and :meth:`ArtifactStore.cleanup_tmp` removes. Packs are immutable: deleting an
object rewrites its pack without it. Every read still verifies the object's digest.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import secrets
import struct
import threading
from typing import TYPE_CHECKING, Any, NamedTuple

from loopml.artifacts._fs import fsync_dir

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

_MAGIC = b"LMPACK\x00\x01"
_HEADER = struct.Struct(">8sQ")  # magic, record count
_RECORD = struct.Struct(">32sQQ")  # digest, offset, size
_TRAILER = 32  # sha256 of header + records
_MODE = 0o444


class Packed(NamedTuple):
    """Where a packed object lives: the pack file, and its bytes' offset and size."""

    pack: str
    offset: int
    size: int


def _encode_index(entries: dict[str, tuple[int, int]]) -> bytes:
    body = bytearray(_HEADER.pack(_MAGIC, len(entries)))
    for digest in sorted(entries):
        offset, size = entries[digest]
        body += _RECORD.pack(bytes.fromhex(digest), offset, size)
    return bytes(body) + hashlib.sha256(body).digest()


class _Damaged(ValueError):
    """A pack index failed its checks (the message says which)."""


def _decode_index(data: bytes) -> list[tuple[str, int, int]]:
    if len(data) < _HEADER.size + _TRAILER:
        raise _Damaged(f"{len(data)} bytes, shorter than an empty index")
    body, trailer = data[:-_TRAILER], data[-_TRAILER:]
    if hashlib.sha256(body).digest() != trailer:
        raise _Damaged("its sha256 trailer does not match its contents")
    magic, count = _HEADER.unpack_from(body)
    if magic != _MAGIC:
        raise _Damaged(f"unknown format {magic!r}")
    if len(body) != _HEADER.size + count * _RECORD.size:
        raise _Damaged(f"its length does not fit {count} records")
    return [
        (digest.hex(), offset, size)
        for digest, offset, size in _RECORD.iter_unpack(body[_HEADER.size :])
    ]


def _write_durably(path: str, chunks: Iterable[bytes], *, fsync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _MODE)
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


class PackIndex:
    """The published packs of one store folder: digest -> :class:`Packed`, loaded lazily.

    Other processes may publish or rewrite packs at any time; :meth:`refresh` picks up what
    changed (reading only new indexes), and :meth:`find` refreshes on a miss. A damaged
    index is skipped, not fatal (it is read again by the next refresh), and listed in
    :attr:`damaged` so that a read which finds nothing can say why.
    """

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._objects: dict[str, Packed] = {}
        # pack path -> digest -> (offset, size): a digest can sit in several packs (two
        # writers raced), and losing one pack must leave it found in another.
        self._records: dict[str, dict[str, tuple[int, int]]] = {}
        self._lock = threading.Lock()
        self.damaged: dict[str, str] = {}  # index path -> what is wrong with it
        self._damaged_stat: dict[str, tuple[int, int]] = {}  # not re-read while unchanged

    def refresh(self) -> None:
        """Load indexes published since the last look; forget packs that were removed."""
        try:
            names = {n[:-4] for n in os.listdir(self.folder) if n.endswith(".idx")}
        except FileNotFoundError:
            names = set()
        with self._lock:
            present = {f"{self.folder}/{name}.pack" for name in names}
            for pack in [p for p in self._records if p not in present]:
                self._forget(pack)
            for index in [i for i in self.damaged if i[:-4] + ".pack" not in present]:
                del self.damaged[index]
                self._damaged_stat.pop(index, None)
            for pack in sorted(present - set(self._records)):
                self._load(pack)

    def _forget(self, pack: str) -> None:
        for digest in self._records.pop(pack):
            if self._objects[digest].pack != pack:
                continue
            other = next((p for p, r in self._records.items() if digest in r), None)
            if other is None:
                del self._objects[digest]
            else:
                self._objects[digest] = Packed(other, *self._records[other][digest])

    def _load(self, pack: str) -> None:
        index = pack[:-5] + ".idx"
        try:
            with open(index, "rb") as handle:
                st = os.fstat(handle.fileno())
                if self._damaged_stat.get(index) == (st.st_mtime_ns, st.st_size):
                    return  # known damaged and unchanged since
                records = _decode_index(handle.read())
        except FileNotFoundError:  # removed between the listing and the read
            return
        except _Damaged as exc:
            self.damaged[index] = str(exc)
            self._damaged_stat[index] = (st.st_mtime_ns, st.st_size)
            return
        self.damaged.pop(index, None)
        self._damaged_stat.pop(index, None)
        self._records[pack] = {digest: (offset, size) for digest, offset, size in records}
        for digest, offset, size in records:
            self._objects.setdefault(digest, Packed(pack, offset, size))

    def find(self, digest: str, *, refresh: bool = True) -> Packed | None:
        """Where ``digest`` is packed, or None (looking for new packs first on a miss)."""
        hit = self._objects.get(digest)
        if hit is None and refresh:
            self.refresh()
            hit = self._objects.get(digest)
        return hit

    def digests(self) -> set[str]:
        """Every packed digest (after a refresh)."""
        self.refresh()
        with self._lock:
            return set(self._objects)

    def packs(self) -> dict[str, dict[str, tuple[int, int]]]:
        """Pack path -> digest -> (offset, size), for every published pack (after a refresh)."""
        self.refresh()
        with self._lock:
            return {pack: dict(records) for pack, records in self._records.items()}


class PackWriter:
    """Appends objects to one new pack from several threads; :meth:`publish` makes it visible.

    Each :meth:`add` reserves its byte range under a lock and writes it with ``pwrite``
    outside the lock, so threads write concurrently. The same digest is written once.
    """

    def __init__(self, folder: str, tmp: str) -> None:
        self.folder = folder
        self._name = secrets.token_hex(16)
        self._tmp_path = f"{tmp}/{self._name}.pack"
        self._fd = -1
        self._next = 0
        self._entries: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._failed: BaseException | None = None

    def add(self, digest: str, data: bytes | memoryview) -> None:
        """Append ``data`` (whose sha256 is ``digest``) unless this pack already holds it."""
        size = len(data)
        with self._lock:
            if digest in self._entries:
                return
            if self._fd < 0:
                self._fd = os.open(self._tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _MODE)
            offset = self._next
            self._next += size
            self._entries[digest] = (offset, size)
        try:
            view = memoryview(data)
            while view:
                written = os.pwrite(self._fd, view, offset)
                view, offset = view[written:], offset + written
        except BaseException as exc:
            self._failed = exc
            raise

    def publish(self, *, fsync: bool) -> str | None:
        """Flush the pack, move it into place and publish its index; return the pack path.

        Returns None when nothing was added. A failed :meth:`add` aborts the pack and
        re-raises its error.
        """
        if self._failed is not None:
            self.abort()
            raise self._failed
        if self._fd < 0:
            return None
        pack = f"{self.folder}/{self._name}.pack"
        try:
            if fsync:
                os.fdatasync(self._fd)
            os.close(self._fd)
            self._fd = -1
            os.makedirs(self.folder, exist_ok=True)
            os.rename(self._tmp_path, pack)
            if fsync:
                fsync_dir(self.folder)
            tmp_index = f"{self._tmp_path[:-5]}.idx"
            _write_durably(tmp_index, [_encode_index(self._entries)], fsync=fsync)
            os.rename(tmp_index, pack[:-5] + ".idx")  # the pack is visible from here on
            if fsync:
                fsync_dir(self.folder)
        except BaseException:
            self.abort()
            raise
        return pack

    def abort(self) -> None:
        """Close and remove the unpublished pack."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        for path in (self._tmp_path, f"{self._tmp_path[:-5]}.idx"):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


class PackSlice(io.RawIOBase):
    """A raw read-only stream over one object's bytes inside a pack."""

    def __init__(self, where: Packed) -> None:
        super().__init__()
        self._handle = open(where.pack, "rb", buffering=0)  # closed in close()
        self._handle.seek(where.offset)
        self._left = where.size
        self.size = where.size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._left <= 0 or not view.nbytes:
            return 0
        count = self._handle.readinto(view[: min(view.nbytes, self._left)]) or 0
        self._left -= count
        return count

    def close(self) -> None:
        if not self.closed:
            try:
                self._handle.close()
            finally:
                super().close()


@contextlib.contextmanager
def _rewrite_lock(folder: str) -> Iterator[None]:
    """Serialise pack rewrites across processes (``flock`` on ``packs/.lock``; POSIX)."""
    try:
        import fcntl
    except ImportError:  # no flock here: concurrent deletes may then keep both copies
        yield
        return
    os.makedirs(folder, exist_ok=True)
    fd = os.open(f"{folder}/.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def rewrite_without(index: PackIndex, tmp: str, doomed: set[str], *, fsync: bool) -> set[str]:
    """Rewrite every pack holding a digest of ``doomed`` without it; return those removed.

    The new pack (every other object of the old one) is published before the old one is
    unpublished, so a surviving object is always readable. Rewrites are serialised across
    processes, and each looks at the packs afresh once it holds the lock, so two deletes
    never undo each other.
    """
    removed: set[str] = set()
    with _rewrite_lock(index.folder):
        for pack, records in index.packs().items():
            hit = doomed.intersection(records)
            if not hit:
                continue
            writer = PackWriter(index.folder, tmp)
            try:
                with open(pack, "rb") as source:
                    for digest, (offset, size) in records.items():
                        if digest not in hit:
                            source.seek(offset)
                            writer.add(digest, source.read(size))
            except FileNotFoundError:  # removed meanwhile by a process without the lock
                writer.abort()
                continue
            writer.publish(fsync=fsync)
            for path in (pack[:-5] + ".idx", pack):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
            if fsync:
                fsync_dir(index.folder)  # a power loss must not bring the objects back
            removed |= hit
        index.refresh()
    return removed


def stale_packs(folder: str, older_than_ns: int) -> list[str]:
    """Packs whose index was never published (a writer died between the two renames).

    Age is judged by the inode's change time, which the rename into ``packs/`` sets, so a
    pack whose writer is about to publish its index is never taken for a stale one.
    """
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    indexed = {n[:-4] for n in names if n.endswith(".idx")}
    stale = []
    for name in names:
        if not name.endswith(".pack") or name[:-5] in indexed:
            continue
        try:
            if os.stat(f"{folder}/{name}").st_ctime_ns <= older_than_ns:
                stale.append(f"{folder}/{name}")
        except FileNotFoundError:
            continue
    return stale
