"""The content-addressed artifact store: sha256 keys over any fsspec filesystem."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import posixpath
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.artifacts import _bulk, _crypto, _direct, _fs, _inventory, _packs
from loopml.artifacts._copy import SupportsRead, copy_hashing
from loopml.artifacts._inventory import StoredObject
from loopml.artifacts._reader import ArtifactReader, _VerifyingRaw
from loopml.errors import DamagedPackIndex, DigestMismatch, InvalidInput, NotFound
from loopml.ids import check_digest

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from loopml.artifacts._crypto import Keyring, MasterKey
    from loopml.config import Settings

DEFAULT_CHUNK_SIZE = 4 << 20
#: A durable put of a local file at least this large writes with direct I/O (``_direct``).
DIRECT_MIN = 64 << 20
#: ``put_many`` on a local store packs the new small files of batches at least this large.
PACK_MIN_FILES = 16
_MIN_CHUNK_SIZE = 64 << 10
_MAX_CHUNK_SIZE = 256 << 20
_REST = re.compile(r"^[0-9a-f]{62}$")
_PREFIX = re.compile(r"^[0-9a-f]{2}$")


#: What :meth:`ArtifactStore.put` accepts: bytes, a local file path, or a binary stream.
PutSource = bytes | bytearray | memoryview | str | os.PathLike[str] | SupportsRead


class ArtifactStore:
    """A content-addressed blob store over fsspec: objects are named by their sha256.

    Objects live at ``<root>/objects/ab/cdef...`` (the first two hex characters of the digest
    name a folder). On a local store, :meth:`put_many` appends batches of small files to one
    pack file instead (``<root>/packs/``; see :mod:`loopml.artifacts._packs`): every method
    finds packed objects as it finds loose ones. Writes stream through a temporary object in
    ``<root>/tmp/`` while being hashed, then are moved into place, so a reader never sees a
    partial object and a writer killed mid-way leaves only a stale temporary (see
    :meth:`cleanup_tmp`). On local filesystems the move is an atomic ``rename`` on the same
    filesystem; on object stores such as S3, fsspec's move is copy-then-delete, and the object
    appears whole because a single PUT/copy is atomic there. Every read checks the digest.

    Args:
        url: A local folder, ``file://`` URL or any fsspec URL (``memory://``, ``s3://``
            with the ``s3`` extra, ...). Local folders are created if missing.
        chunk_size: Bytes read, hashed and written per step when streaming (64 KiB to
            256 MiB; default 4 MiB). A put holds two such buffers, whatever the object size.
        fsync: On local filesystems, flush each new object to disk before it becomes
            visible so a power loss cannot leave a truncated object (default True).
        storage_options: Extra keyword arguments for the fsspec filesystem (credentials,
            ``endpoint_url``, ...).
        encryption: Encrypt new objects at rest under this keyring's current master key
            (AES-256-GCM, see :mod:`loopml.artifacts._crypto`); objects stay named by the
            sha256 of their plaintext. Off (None) by default; an encrypted store packs no
            objects and hard-links none.

    Raises:
        InvalidInput: The URL is empty, its protocol unknown, or ``chunk_size`` out of range.
        MissingExtra: The protocol needs an optional dependency (``s3://`` needs ``s3fs``).
        HomeNotWritable: A local store folder cannot be created or written.

    Example:
        >>> store = ArtifactStore("memory://docs-example/artifacts")
        >>> digest = store.put(b"hello")
        >>> store.get(digest)
        b'hello'
    """

    def __init__(
        self,
        url: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        fsync: bool = True,
        storage_options: Mapping[str, object] | None = None,
        encryption: Keyring | None = None,
    ) -> None:
        if not _MIN_CHUNK_SIZE <= chunk_size <= _MAX_CHUNK_SIZE:
            raise InvalidInput(
                f"chunk_size must be between {_MIN_CHUNK_SIZE} and {_MAX_CHUNK_SIZE} bytes, "
                f"got {chunk_size}",
                hint="Leave the default (4 MiB) unless measurements say otherwise.",
                chunk_size=chunk_size,
            )
        self.url = url
        self.chunk_size = chunk_size
        self.fsync = fsync
        self.storage_options = dict(storage_options or {})
        self._fs, self._root, self._local = _fs.resolve(url, self.storage_options)
        self._objects = f"{self._root.rstrip('/')}/objects"
        self._tmp = f"{self._root.rstrip('/')}/tmp"
        self.encryption = encryption
        packed = self._local and encryption is None
        self._packs = _packs.PackIndex(f"{self._root.rstrip('/')}/packs") if packed else None
        if self._local:
            _fs.prepare_local(self._fs, self._root, (self._root, self._objects, self._tmp))

    def __repr__(self) -> str:
        return f"ArtifactStore({self.url!r})"

    # -- writing -------------------------------------------------------------------------

    def put(self, data: PutSource) -> str:
        """Store bytes, a local file or a binary stream; return its sha256 digest.

        Streams are read and hashed in ``chunk_size`` pieces, so objects of any size are
        stored in constant memory. Storing bytes that are already present keeps the one
        existing object.

        Args:
            data: ``bytes``/``bytearray``/``memoryview`` content; a ``str`` or
                ``os.PathLike`` *path* of a local file (a ``str`` is never content); or a
                binary stream with ``read(size)``, read to its end (not closed).

        Returns:
            The 64-character lowercase hex sha256 digest naming the object.

        Raises:
            InvalidInput: ``data`` is of another type, a text stream, or a path that is not
                a readable file.
        """
        if isinstance(data, (bytes, bytearray, memoryview)):
            return self._put_buffer(memoryview(data).cast("B"))
        if isinstance(data, (str, os.PathLike)):
            return self.put_file(data)
        if callable(getattr(data, "read", None)):
            return self._put_stream(data)
        raise InvalidInput(
            f"cannot store an object of type {type(data).__name__}",
            hint="Pass bytes, the path of a local file, or a binary stream opened with 'rb'.",
            type=type(data).__name__,
        )

    def put_file(self, path: str | os.PathLike[str]) -> str:
        """Store the local file at ``path``, streaming it; return its digest.

        Args:
            path: Path of a regular local file.

        Returns:
            The sha256 digest of the file's bytes.

        Raises:
            InvalidInput: The path does not exist, is not a file, or cannot be read.
        """
        try:
            handle = open(path, "rb", buffering=0)  # closed by the with below
        except OSError as exc:
            raise InvalidInput(
                f"cannot read {os.fspath(path)!r} to store it: {exc.strerror or exc}",
                hint="Pass the path of an existing, readable regular file.",
                path=os.fspath(path),
            ) from exc
        with handle:
            if (
                self._local
                and self.fsync
                and self.encryption is None
                and os.fstat(handle.fileno()).st_size >= DIRECT_MIN
            ):
                return self._put_local_direct(os.fspath(path))
            return self._put_stream(handle)

    def put_many(
        self, paths: Iterable[str | os.PathLike[str]], *, max_workers: int | None = None
    ) -> list[str]:
        """Store several local files concurrently; return their digests in input order.

        hashlib releases the GIL while hashing large buffers, so files are hashed and
        copied on a thread pool. On a local store, a batch of at least
        :data:`PACK_MIN_FILES` files stores its new small files (up to 4 MiB) in one pack.

        Args:
            paths: Paths of regular local files.
            max_workers: Threads to use (default: the CPU count, at most 8).

        Returns:
            One digest per path, in the order given.

        Raises:
            InvalidInput: A path is not a readable file (the first such error is raised
                after the other files have been stored).
        """
        items = list(paths)
        if not items:
            return []
        workers = max_workers or min(8, os.cpu_count() or 1, len(items))
        if self._packs is not None and len(items) >= PACK_MIN_FILES:
            local = [os.fspath(p) for p in items]
            return _bulk.put_local_files(
                self._objects,
                self._packs,
                self._tmp,
                local,
                put_large=self.put_file,
                workers=_bulk.threads_for(local, workers),
                fsync=self.fsync,
            )
        with _bulk.thread_pool(workers) as pool:
            return list(pool.map(self.put_file, items))

    def materialize(
        self,
        digest: str,
        dest_path: str | os.PathLike[str],
        *,
        link: bool = True,
        verify: bool = True,
    ) -> str:
        """Place the object at a local path; return ``"link"`` or ``"copy"``.

        From a local store a hard link is made where possible (same filesystem, ``link``, and a
        loose rather than a packed object): it costs no bytes, and the file is read-only because
        it shares the stored object's inode. Otherwise the bytes are copied (verified on the
        way, as :meth:`get_file` does). ``dest_path`` is replaced atomically.

        Args:
            digest: The object's sha256 digest.
            dest_path: Local path to write.
            link: Allow a hard link (False: always copy).
            verify: Hash the stored object before linking it, raising DigestMismatch if it
                was altered (copies are always verified).

        Returns:
            ``"link"`` or ``"copy"``.

        Raises:
            InvalidReference: ``digest`` is not a sha256 hex digest.
            NotFound: No object is stored under ``digest``.
            DigestMismatch: The stored bytes no longer hash to ``digest``.
        """
        digest = check_digest(digest)
        if not self._local or self.encryption is not None:
            self.get_file(digest, dest_path)
            return "copy"
        source = self._path(digest)
        if not os.path.isfile(source):
            if self._find_packed(digest) is None:
                raise self._not_found(digest)
            self.get_file(digest, dest_path)  # a packed object cannot be linked
            return "copy"
        if verify:
            actual = _bulk.hash_file(source, self.chunk_size)
            if actual != digest:
                raise DigestMismatch(digest, actual, self._location(source))
        return _bulk.link_or_copy(source, os.fspath(dest_path), link=link)

    def _put_local_direct(self, path: str) -> str:
        tmp = self._new_tmp()
        try:
            digest, size = _direct.copy_file_direct(path, tmp, self.chunk_size)
            self._commit(tmp, digest, size)
        except BaseException:
            self._discard(tmp)
            raise
        return digest

    def _put_buffer(self, view: memoryview) -> str:
        digest = hashlib.sha256(view).hexdigest()
        if self._has_intact(digest, view.nbytes):
            return digest
        tmp = self._new_tmp()
        try:
            with self._fs.open(tmp, "wb") as out:
                if self.encryption is not None:
                    sink = _crypto.EncryptingWriter(out, self.encryption.current)
                    sink.write(view)
                    sink.finish()
                else:
                    out.write(view if self._local else view.tobytes())
                if self._local and self.fsync:
                    _fs.fsync_file(out)
            self._commit(tmp, digest, view.nbytes)
        except BaseException:
            self._discard(tmp)
            raise
        return digest

    def _put_stream(self, source: SupportsRead) -> str:
        tmp = self._new_tmp()
        try:
            with self._fs.open(tmp, "wb") as out:
                if self.encryption is None:
                    digest, size = copy_hashing(
                        source, out, self.chunk_size, private_chunks=not self._local
                    )
                else:
                    sink = _crypto.EncryptingWriter(out, self.encryption.current)
                    digest, size = copy_hashing(source, sink, self.chunk_size, private_chunks=False)
                    sink.finish()
                if self._local and self.fsync:
                    _fs.fsync_file(out)
            self._commit(tmp, digest, size)
        except BaseException:
            self._discard(tmp)
            raise
        return digest

    def _commit(self, tmp: str, digest: str, size: int) -> None:
        if self._has_intact(digest, size):
            self._discard(tmp)
            return
        target = self._path(digest)
        parent = posixpath.dirname(target)
        if self._local:
            self._fs.makedirs(parent, exist_ok=True)
        self._fs.mv(tmp, target)
        if self._local and self.fsync:
            _fs.fsync_dir(parent)

    def _has_intact(self, digest: str, size: int) -> bool:
        # An object of the right length counts as present; a truncated one (say, from a
        # crash during a non-atomic move) is replaced by the new copy. A present one is
        # freshened, so that a garbage collector's grace period covers this writer too.
        if self.encryption is not None:
            size = _crypto.encrypted_size(size)
        try:
            info = self._fs.info(self._path(digest))
        except FileNotFoundError:
            packed = self._find_packed(digest)
            if packed is None or packed.size != size:
                return False
            _inventory.freshen(packed.pack[:-5] + ".idx")
            return True
        present = bool(info.get("type") == "file" and info.get("size") == size)
        if present and self._local:
            _inventory.freshen(self._path(digest))
        return present

    def _new_tmp(self) -> str:
        return f"{self._tmp}/{secrets.token_hex(16)}"

    def _discard(self, tmp: str) -> None:
        try:
            self._fs.rm_file(tmp)
        except Exception:  # best effort: cleanup_tmp collects leftovers
            pass

    # -- reading -------------------------------------------------------------------------

    def open(self, digest: str) -> ArtifactReader:
        """Open a stored object as a binary stream that verifies its digest as it reads.

        The read that reaches the end of the object raises
        :class:`~loopml.errors.DigestMismatch` instead of returning the final bytes if the
        object was altered. Bytes read before the end are not yet verified: a consumer that
        stops early must not trust them (``reader.verified`` stays False). See
        :class:`ArtifactReader`.

        Args:
            digest: The object's sha256 digest (a ``sha256:`` prefix is accepted).

        Returns:
            A non-seekable binary reader; close it, or use it in a ``with`` block.

        Raises:
            InvalidReference: ``digest`` is not a sha256 hex digest.
            NotFound: No object is stored under ``digest``.
        """
        digest = check_digest(digest)
        path = self._path(digest)
        handle: Any
        try:
            handle = self._fs.open(path, "rb")
        except FileNotFoundError as exc:
            packed = self._find_packed(digest)
            if packed is None:
                raise self._not_found(digest) from exc
            try:
                handle = _packs.PackSlice(packed)
            except FileNotFoundError:  # rewritten meanwhile by another process: look again
                packed = self._find_packed(digest, fresh=True)
                if packed is None:
                    raise self._not_found(digest) from exc
                try:
                    handle = _packs.PackSlice(packed)
                except FileNotFoundError as gone:
                    raise self._not_found(digest) from gone
            path = f"{packed.pack}@{packed.offset}"
        if self.encryption is not None:
            handle = self._decrypting(handle, digest, path)
        size = getattr(handle, "size", None)
        raw = _VerifyingRaw(
            handle, digest, self._location(path), size if isinstance(size, int) else None
        )
        return ArtifactReader(raw, digest, min(self.chunk_size, 1 << 20))

    def get(self, digest: str) -> bytes:
        """Return the whole object, verified; nothing is returned if it was altered.

        Args:
            digest: The object's sha256 digest.

        Returns:
            The stored bytes.

        Raises:
            InvalidReference: ``digest`` is not a sha256 hex digest.
            NotFound: No object is stored under ``digest``.
            DigestMismatch: The stored bytes no longer hash to ``digest``.
        """
        with self.open(digest) as reader:
            return reader.read()

    def get_file(self, digest: str, dest_path: str | os.PathLike[str]) -> Path:
        """Write the object to a local file, verified, replacing ``dest_path`` atomically.

        The bytes stream to a temporary file beside ``dest_path`` (missing parent folders
        are created), which is renamed over ``dest_path`` only once the digest matched; on a
        mismatch ``dest_path`` is left as it was.

        Args:
            digest: The object's sha256 digest.
            dest_path: Local path to write.

        Returns:
            ``dest_path`` as a :class:`~pathlib.Path`.

        Raises:
            InvalidReference: ``digest`` is not a sha256 hex digest.
            NotFound: No object is stored under ``digest``.
            DigestMismatch: The stored bytes no longer hash to ``digest``.
        """
        dest = Path(dest_path)
        with self.open(digest) as reader:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(8)}.tmp")
            try:
                with open(tmp, "wb") as out:
                    buffer = memoryview(bytearray(self.chunk_size))
                    while count := reader.readinto(buffer):
                        out.write(buffer[:count])
                os.replace(tmp, dest)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        return dest

    def exists(self, digest: str) -> bool:
        """Tell whether an object is stored under ``digest`` (its bytes are not checked).

        Raises:
            InvalidReference: ``digest`` is not a sha256 hex digest.
        """
        digest = check_digest(digest)
        return bool(self._fs.isfile(self._path(digest))) or self._find_packed(digest) is not None

    def size(self, digest: str) -> int:
        """Return the stored object's size in bytes.

        Raises:
            InvalidReference: ``digest`` is not a sha256 hex digest.
            NotFound: No object is stored under ``digest``.
        """
        digest = check_digest(digest)
        try:
            stored = int(self._fs.size(self._path(digest)))
        except FileNotFoundError as exc:
            packed = self._find_packed(digest)
            if packed is None:
                raise self._not_found(digest) from exc
            return packed.size
        return self._plain_size(digest, stored)

    def inventory(self) -> list[StoredObject]:
        """Every stored object with its size and when it was last written, by digest.

        "Written" includes storing bytes that were already present, which sets the time
        to now (see :mod:`loopml.artifacts._inventory`); garbage collection uses it as
        the object's age. Temporaries of unfinished writes are not listed.
        """
        if self._local:
            found = _inventory.local_objects(self._objects, self._packs)
        else:
            found = _inventory.remote_objects(self._fs, self._objects)
        return [found[digest] for digest in sorted(found)]

    def stat(self, digest: str) -> StoredObject:
        """One object's size and last write time, looked up afresh.

        Raises:
            InvalidReference: ``digest`` is not a sha256 hex digest.
            NotFound: No object is stored under ``digest``.
        """
        digest = check_digest(digest)
        path = self._path(digest)
        try:
            if self._local:
                st = os.stat(path)
                return StoredObject(digest, self._plain_size(digest, st.st_size), st.st_mtime)
            info = self._fs.info(path)
            size = self._plain_size(digest, int(info.get("size") or 0))
            return StoredObject(digest, size, _fs.info_modified(info) or 0.0)
        except FileNotFoundError:
            pass
        packed = self._find_packed(digest, fresh=True)
        if packed is None:
            raise self._not_found(digest)
        try:
            when = os.stat(packed.pack[:-5] + ".idx").st_mtime
        except FileNotFoundError:  # rewritten meanwhile: it sits in a fresh pack now
            when = dt.datetime.now(tz=dt.UTC).timestamp()
        return StoredObject(digest, packed.size, when)

    def iter_digests(self) -> Iterator[str]:
        """Yield the digest of every stored object, in sorted order.

        Temporary objects of unfinished writes are never listed.
        """
        if self._packs is not None:
            yield from sorted(set(self._iter_loose()) | self._packs.digests())
            return
        yield from self._iter_loose()

    def _iter_loose(self) -> Iterator[str]:
        for prefix in self._list(self._objects):
            head = posixpath.basename(prefix.rstrip("/"))
            if not _PREFIX.match(head):
                continue
            for entry in self._list(prefix):
                rest = posixpath.basename(entry.rstrip("/"))
                if _REST.match(rest):
                    yield head + rest

    # -- maintenance ---------------------------------------------------------------------

    def delete(self, digest: str, *, missing_ok: bool = False) -> None:
        """Remove a stored object (for garbage collection; nothing checks references).

        Args:
            digest: The object's sha256 digest.
            missing_ok: Return quietly when no such object exists.

        Raises:
            InvalidReference: ``digest`` is not a sha256 hex digest.
            NotFound: No object is stored under ``digest`` and ``missing_ok`` is False.
        """
        digest = check_digest(digest)
        if self.delete_many([digest]) == 0 and not missing_ok:
            raise self._not_found(digest)

    def delete_many(self, digests: Iterable[str]) -> int:
        """Remove stored objects (missing ones are skipped); return how many were removed.

        A packed object is removed by rewriting its pack without it, once per pack however
        many of its objects go, so garbage collection should pass every digest at once.

        Raises:
            InvalidReference: A digest is not a sha256 hex digest.
        """
        doomed = {check_digest(d) for d in digests}
        removed: set[str] = set()
        for digest in doomed:
            try:
                self._fs.rm_file(self._path(digest))
                removed.add(digest)
            except FileNotFoundError:
                continue
        if self._packs is not None:
            removed |= _packs.rewrite_without(self._packs, self._tmp, doomed, fsync=self.fsync)
        return len(removed)

    def cleanup_tmp(self, older_than_s: float = 86_400.0) -> int:
        """Delete temporary objects and unpublished packs left by writers that died.

        Args:
            older_than_s: Only remove temporaries not modified for this many seconds, so
                writes still in progress are left alone (default: one day).

        Returns:
            The number of temporaries removed.
        """
        cutoff = dt.datetime.now(tz=dt.UTC) - dt.timedelta(seconds=older_than_s)
        removed = 0
        for path in self._list(self._tmp):
            try:
                when = _fs.modified(self._fs, path)
                if when is not None and when <= cutoff:
                    self._fs.rm_file(path)
                    removed += 1
            except FileNotFoundError:
                continue
        if self._packs is not None:
            for pack in _packs.stale_packs(self._packs.folder, int(cutoff.timestamp() * 1e9)):
                try:
                    os.unlink(pack)
                    removed += 1
                except FileNotFoundError:
                    continue
        return removed

    # -- encryption ----------------------------------------------------------------------

    def rotate_key(self, new_key: MasterKey) -> dict[str, int]:
        """Re-wrap every encrypted object's data key under ``new_key``; data is not re-encrypted.

        The store's keyring must hold the keys the objects are wrapped with now. Only the
        72-byte header changes: in place on a local store; on an object store (which cannot
        change part of an object) the object is copied with the new header, its encrypted
        chunks unchanged. Afterwards the store writes new objects under ``new_key`` too.
        Running it again after an interruption continues where it stopped.

        Args:
            new_key: The master key to wrap data keys with from now on.

        Returns:
            Counts: ``rewrapped``, ``already`` (wrapped with ``new_key`` already) and
            ``plaintext`` (objects stored before encryption was turned on; left as they are).

        Raises:
            InvalidInput: The store is not encrypted.
            EncryptionKeyError: An object is wrapped with a key the keyring does not hold.
        """
        if self.encryption is None:
            raise InvalidInput(
                f"the artifact store at {self.url} is not encrypted, so it has no keys to rotate",
                hint="Set LOOPML_ENCRYPTION_KEY_FILE (or LOOPML_ENCRYPTION_KEY) to the current "
                "key before rotating.",
            )
        keyring = self.encryption
        counts = {"rewrapped": 0, "already": 0, "plaintext": 0}
        for digest in list(self._iter_loose()):
            path = self._path(digest)
            with self._fs.open(path, "rb") as handle:
                header = _crypto.parse_header(handle.read(_crypto.HEADER_SIZE))
            if header is None:
                counts["plaintext"] += 1
                continue
            if header.key_id == new_key.key_id:
                counts["already"] += 1
                continue
            fresh = _crypto.rewrap(header, keyring, new_key, digest, self._location(path))
            self._write_header(path, fresh.pack())
            counts["rewrapped"] += 1
        previous = tuple(k for k in (keyring.current, *keyring.previous) if k != new_key)
        self.encryption = _crypto.Keyring(new_key, previous)
        return counts

    def _write_header(self, path: str, header: bytes) -> None:
        if self._local:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.pwrite(fd, header, 0)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            return
        tmp = self._new_tmp()
        try:
            with self._fs.open(path, "rb") as source, self._fs.open(tmp, "wb") as out:
                source.seek(len(header))
                out.write(header)
                while chunk := source.read(self.chunk_size):
                    out.write(chunk)
            self._fs.mv(tmp, path)
        except BaseException:
            self._discard(tmp)
            raise

    def _decrypting(self, handle: Any, digest: str, path: str) -> Any:
        assert self.encryption is not None
        try:
            stored = getattr(handle, "size", None)
            if not isinstance(stored, int):
                stored = int(self._fs.size(path))
            header = _crypto.parse_header(handle.read(_crypto.HEADER_SIZE))
            if header is None:  # stored before encryption was turned on: read as it is
                handle.seek(0)
                return handle
            return _crypto.DecryptingReader(
                handle, header, self.encryption, stored, digest, self._location(path)
            )
        except BaseException:
            handle.close()
            raise

    def _plain_size(self, digest: str, stored: int) -> int:
        if self.encryption is None or stored < _crypto.HEADER_SIZE:
            return stored
        with self._fs.open(self._path(digest), "rb") as handle:
            header = _crypto.parse_header(handle.read(_crypto.HEADER_SIZE))
        return stored if header is None else _crypto.plain_size(stored, header.chunk_size)

    # -- helpers -------------------------------------------------------------------------

    def _path(self, digest: str) -> str:
        return f"{self._objects}/{digest[:2]}/{digest[2:]}"

    def _find_packed(self, digest: str, *, fresh: bool = False) -> _packs.Packed | None:
        if self._packs is None:
            return None
        if fresh:
            self._packs.refresh()
        return self._packs.find(digest)

    def _location(self, path: str) -> str:
        return str(self._fs.unstrip_protocol(path))

    def _list(self, path: str) -> list[str]:
        try:
            entries: list[Any] = self._fs.ls(path, detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(str(entry) for entry in entries)

    def _not_found(self, digest: str) -> NotFound | DamagedPackIndex:
        if self._packs is not None and self._packs.damaged:
            return DamagedPackIndex(digest, dict(self._packs.damaged))
        return NotFound(
            "artifact",
            digest,
            hint=f"No object with this digest is stored in the artifact store at {self.url}; "
            "check the digest and LOOPML_ARTIFACT_URL, or store the bytes with put() first.",
        )


def open_artifact_store(
    settings: Settings,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    fsync: bool = True,
    storage_options: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ArtifactStore:
    """Open the artifact store the settings point at (``settings.artifact_url``).

    With ``LOOPML_SERVER_URL`` set, the store is the loopml server's
    (:class:`~loopml.artifacts.RemoteArtifactStore`, authenticated by ``LOOPML_TOKEN``).
    With ``LOOPML_ENCRYPTION_KEY_FILE`` or ``LOOPML_ENCRYPTION_KEY`` set, new objects are
    encrypted at rest (see :mod:`loopml.artifacts._crypto`); the keys are read from the
    environment only, never from settings files, so ``loopml config show`` cannot print them.

    Args:
        settings: Resolved loopml settings.
        chunk_size: Passed to :class:`ArtifactStore`.
        fsync: Passed to :class:`ArtifactStore`.
        storage_options: Passed to :class:`ArtifactStore`.
        environ: Where to read the variables above (default: ``os.environ``).

    Returns:
        The artifact store.

    Raises:
        InvalidInput: The URL is empty, its protocol unknown, or ``chunk_size`` out of range.
        MissingExtra: The protocol needs an optional dependency that is not installed.
        HomeNotWritable: A local store folder cannot be created or written.
        EncryptionKeyError: An encryption key is malformed or its file unreadable.
    """
    env = os.environ if environ is None else environ
    server = getattr(settings, "server_url", None) or env.get("LOOPML_SERVER_URL")
    if server:
        from loopml.artifacts._remote import RemoteArtifactStore

        token = getattr(settings, "token", None) or env.get("LOOPML_TOKEN") or None
        return RemoteArtifactStore(server, token=token)
    return ArtifactStore(
        settings.artifact_url,
        chunk_size=chunk_size,
        fsync=fsync,
        storage_options=storage_options,
        encryption=_crypto.keyring_from_env(env),
    )
