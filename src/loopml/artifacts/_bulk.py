"""Fast paths for a local store: many small files at once, and hard-link materialisation.

Storing 10,000 small files one ``put_file`` at a time costs a Python file object, an fsync
of the file and an fsync of its folder per object. Here each small file is one ``read``,
one sha256 and one ``write`` + ``rename`` with raw ``os`` calls on a thread pool (the
system calls and hashlib release the GIL), and durability comes from a single ``os.sync``
barrier once the whole batch is in place: a caller records metadata only after
:func:`put_local_files` returns, so no record can name an object that is not on disk.
A crash before the barrier can at worst leave a short object, which the size check of the
next put replaces and every read rejects (digests are verified).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

SMALL = 4 << 20  # files up to this size are read in one piece
_CHUNK = 256
_MODE = 0o444  # objects are immutable; read-only also protects hard-linked checkouts


def _unreadable(path: str, exc: OSError) -> InvalidInput:
    return InvalidInput(
        f"cannot read {path!r} to store it: {exc.strerror or exc}",
        hint="Pass the path of an existing, readable regular file.",
        path=path,
    )


def put_local_files(
    objects: str,
    tmp: str,
    paths: Sequence[str],
    *,
    put_large: Callable[[str], str],
    workers: int,
    fsync: bool,
) -> list[str]:
    """Store local files into the local object folder ``objects``; digests in input order.

    Args:
        objects: The store's ``objects`` folder.
        tmp: The store's temporary folder (same filesystem).
        paths: Files to store.
        put_large: How to store a file larger than :data:`SMALL` (streaming put).
        workers: Threads to use.
        fsync: End with one ``os.sync`` barrier.
    """

    def one(path: str) -> str:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise _unreadable(path, exc) from exc
        try:
            size = os.fstat(fd).st_size
            if size > SMALL:
                os.close(fd)
                fd = -1
                return put_large(path)
            data = os.read(fd, size + 1)
            while len(data) <= size:  # short reads are legal; a grown file is read on
                more = os.read(fd, SMALL)
                if not more:
                    break
                data += more
        except OSError as exc:
            raise _unreadable(path, exc) from exc
        finally:
            if fd >= 0:
                os.close(fd)
        if len(data) > SMALL:
            return put_large(path)
        digest = hashlib.sha256(data).hexdigest()
        target = f"{objects}/{digest[:2]}/{digest[2:]}"
        try:
            if os.stat(target).st_size == len(data):
                return digest
        except FileNotFoundError:
            pass
        name = f"{tmp}/{secrets.token_hex(16)}"
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _MODE)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(out, view) :]
        finally:
            os.close(out)
        try:
            os.rename(name, target)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.rename(name, target)
        return digest

    def chunk(items: Sequence[str]) -> list[str | BaseException]:
        # One task per chunk, not per file: futures and thread hand-offs would cost more
        # than the small files themselves.
        out: list[str | BaseException] = []
        for path in items:
            try:
                out.append(one(path))
            except Exception as exc:  # keep storing the rest, raise the first error
                out.append(exc)
        return out

    if not paths:
        return []
    size = max(1, min(_CHUNK, -(-len(paths) // workers)))
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="loopml-put") as pool:
        results = [item for part in pool.map(chunk, chunks) for item in part]
    if fsync:
        os.sync()
    for item in results:
        if isinstance(item, BaseException):
            raise item
    return [str(item) for item in results]


def link_or_copy(source: str, dest: str, *, link: bool) -> str:
    """Place the object file ``source`` at ``dest`` (replacing it); return ``"link"``/``"copy"``.

    A hard link shares the (read-only) object's inode and costs no bytes; it is used when
    asked and possible (same filesystem), else the bytes are copied to a temporary beside
    ``dest`` and renamed over it.
    """
    parent = os.path.dirname(dest) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{os.path.basename(dest)}.{secrets.token_hex(8)}.tmp")
    how = "copy"
    try:
        if link:
            try:
                os.link(source, tmp)
                how = "link"
            except OSError:
                how = "copy"
        if how == "copy":
            shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return how


def hash_file(path: str, chunk_size: int) -> str:
    """Return the sha256 of a local file, read in ``chunk_size`` pieces."""
    sha = hashlib.sha256()
    buffer = memoryview(bytearray(chunk_size))
    with open(path, "rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            sha.update(buffer[:count])
    return sha.hexdigest()
