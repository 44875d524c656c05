"""Fast paths for a local store: many small files at once, and hard-link materialisation.

Storing 10,000 small files one ``put_file`` at a time costs a Python file object, a new
object file, an fsync of the file and an fsync of its folder per object. Here each small
file is one ``read`` and one sha256 with raw ``os`` calls on a thread pool (the system calls
and hashlib release the GIL), and every new object is appended to one pack
(:mod:`loopml.artifacts._packs`), made durable with one ``fdatasync`` and published when
its index is renamed into place. A caller records metadata only after
:func:`put_local_files` returns, so no record can name an object that is not on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from loopml.artifacts._inventory import freshen
from loopml.artifacts._packs import PackIndex, PackWriter
from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

SMALL = 4 << 20  # files up to this size are read in one piece
_CHUNK = 256
_TINY = 32 << 10  # below this median size one thread stores faster than two


@contextlib.contextmanager
def thread_pool(workers: int, stop: threading.Event | None = None) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that, on an error or Ctrl-C, drops the tasks not yet started.

    ``with ThreadPoolExecutor()`` waits for every submitted task on the way out, so an
    interrupted 10,000-file put would first finish storing all of them. ``stop`` is set
    first, for tasks that check it between items.
    """
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="loopml-put")
    try:
        yield pool
    except BaseException:
        if stop is not None:
            stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _unreadable(path: str, exc: OSError) -> InvalidInput:
    return InvalidInput(
        f"cannot read {path!r} to store it: {exc.strerror or exc}",
        hint="Pass the path of an existing, readable regular file.",
        path=path,
    )


def _read_small(path: str, put_large: Callable[[str], str]) -> bytes | str:
    """The bytes of a small file, or the digest of a large one (stored by ``put_large``)."""
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
    return data


def threads_for(paths: Sequence[str], most: int) -> int:
    """How many threads pay off for ``paths``: one when the files are tiny.

    Reading and hashing a 10 KiB file holds the GIL for most of its few microseconds, so
    two threads only trade it back and forth: 10,000 files of 10 KiB stored in 0.50 s on
    one thread and 0.75 s on two, while 4,000 files of 50 KiB took 1.45 s on one and 1.15 s
    on two (2 cores). The median size of a sample of at most 32 files decides.
    """
    step = max(1, len(paths) // 32)
    sizes = []
    for path in paths[::step]:
        try:
            sizes.append(os.stat(path).st_size)
        except OSError:
            continue
    sizes.sort()
    if most <= 1 or (sizes and sizes[len(sizes) // 2] < _TINY):
        return 1
    return most


def put_local_files(
    objects: str,
    packs: PackIndex,
    tmp: str,
    paths: Sequence[str],
    *,
    put_large: Callable[[str], str],
    workers: int,
    fsync: bool,
) -> list[str]:
    """Store local files into a local store, new small ones in one pack; digests in order.

    Args:
        objects: The store's ``objects`` folder (loose objects: checked for duplicates).
        packs: The store's pack index (new objects go to a new pack in its folder).
        tmp: The store's temporary folder (same filesystem).
        paths: Files to store.
        put_large: How to store a file larger than :data:`SMALL` (streaming put).
        workers: Threads to use.
        fsync: Make the pack durable before publishing it.
    """
    packs.refresh()
    writer = PackWriter(packs.folder, tmp)

    def one(path: str) -> str:
        data = _read_small(path, put_large)
        if isinstance(data, str):
            return data
        digest = hashlib.sha256(data).hexdigest()
        known = packs.find(digest, refresh=False)
        if known is not None and known.size == len(data):
            freshen(known.pack[:-5] + ".idx")  # present: a collector's grace covers us
            return digest
        loose = f"{objects}/{digest[:2]}/{digest[2:]}"
        try:
            if os.stat(loose).st_size == len(data):
                freshen(loose)
                return digest
        except FileNotFoundError:
            pass
        writer.add(digest, data)
        return digest

    def chunk(items: Sequence[str]) -> list[str | BaseException]:
        # One task per chunk, not per file: futures and thread hand-offs would cost more
        # than the small files themselves.
        out: list[str | BaseException] = []
        for path in items:
            if stop.is_set():  # interrupted: the caller discards this pack anyway
                break
            try:
                out.append(one(path))
            except Exception as exc:  # keep storing the rest, raise the first error
                out.append(exc)
        return out

    if not paths:
        return []
    size = max(1, min(_CHUNK, -(-len(paths) // workers)))
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    stop = threading.Event()
    try:
        with thread_pool(workers, stop) as pool:
            results = [item for part in pool.map(chunk, chunks) for item in part]
    except BaseException:
        writer.abort()
        raise
    writer.publish(fsync=fsync)
    packs.refresh()
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
