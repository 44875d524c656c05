"""Copy a large local file into the store with direct I/O, hashing while the disk writes.

A durable put has to get every byte onto the disk anyway; going through the page cache
first only adds a copy, and on our VMs it was the slow part: writing 1 GiB into fresh
page-cache pages took ~4 s (the hypervisor faults each page in), where the same 1 GiB
written with ``O_DIRECT`` took ~0.85 s and left nothing for the final ``fsync`` (see
docs/architecture.md). Filesystems that refuse ``O_DIRECT`` (tmpfs, some network mounts)
get ordinary buffered writes.

Direct writes need page-aligned buffers (``mmap`` gives them) and lengths that are a
multiple of the block size: every chunk but the last is a whole multiple; the tail of the
last is written after ``O_DIRECT`` has been switched off on the descriptor.
"""

from __future__ import annotations

import errno
import hashlib
import mmap
import os
from concurrent.futures import Future, ThreadPoolExecutor

_ALIGN = 4096
_DIRECT = getattr(os, "O_DIRECT", 0)


class _Writer:
    """Writes whole chunks at their offsets, with ``O_DIRECT`` while the kernel accepts it."""

    def __init__(self, path: str) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        self.direct = bool(_DIRECT)
        self.offset = 0
        try:
            self.fd = os.open(path, flags | _DIRECT, 0o444)
        except OSError as exc:
            if exc.errno != errno.EINVAL or not _DIRECT:
                raise
            self.fd = os.open(path, flags, 0o444)
            self.direct = False

    def buffered(self) -> None:
        if self.direct:
            import fcntl  # only reached where O_DIRECT exists (Linux)

            fcntl.fcntl(self.fd, fcntl.F_SETFL, fcntl.fcntl(self.fd, fcntl.F_GETFL) & ~_DIRECT)
            self.direct = False

    def write(self, view: memoryview) -> None:
        start = self.offset
        aligned = len(view) - len(view) % _ALIGN if self.direct else 0
        if aligned:
            try:
                self._write_at(view, 0, aligned, start)
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                self.buffered()  # the filesystem wants another alignment: stop trying
                aligned = 0  # and write the whole chunk again from its start
        if aligned < len(view):
            self.buffered()
            self._write_at(view, aligned, len(view), start + aligned)
        self.offset = start + len(view)

    def _write_at(self, view: memoryview, begin: int, end: int, offset: int) -> None:
        # Slices are released at once: one left alive (say, in an error's traceback) would
        # stop the mmap buffer from closing and hide the real error behind a BufferError.
        while begin < end:
            with view[begin:end] as part:
                written = os.pwrite(self.fd, part, offset)
            begin += written
            offset += written


def _fill(fd: int, buffer: mmap.mmap) -> int:
    view = memoryview(buffer)
    filled = 0
    try:
        while filled < len(view):
            count = os.readv(fd, [view[filled:]])
            if not count:
                break
            filled += count
    finally:
        view.release()
    return filled


def copy_file_direct(source: str, dest: str, chunk_size: int) -> tuple[str, int]:
    """Copy the local file ``source`` to the new file ``dest``, durably; return (sha256, size).

    The next chunk is read and hashed while the previous one is written on a helper thread
    (hashlib and the system calls release the GIL). ``dest`` is fsync-ed before returning.

    Raises:
        OSError: ``source`` cannot be read or ``dest`` written (``dest`` may then exist
            partially; the caller removes it).
    """
    chunk_size = max(_ALIGN, chunk_size - chunk_size % _ALIGN)
    buffers = (mmap.mmap(-1, chunk_size), mmap.mmap(-1, chunk_size))
    views: list[memoryview] = []
    sha = hashlib.sha256()
    size = 0
    src = os.open(source, os.O_RDONLY)
    try:
        writer = _Writer(dest)
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="loopml-direct") as pool:
                pending: Future[None] | None = None
                turn = 0
                while True:
                    buffer = buffers[turn % 2]
                    count = _fill(src, buffer)
                    if not count:
                        break
                    chunk = memoryview(buffer)[:count]
                    views.append(chunk)
                    sha.update(chunk)
                    size += count
                    if pending is not None:
                        pending.result()  # the other buffer is free again
                    pending = pool.submit(writer.write, chunk)
                    turn += 1
                    if count < chunk_size:
                        break
                if pending is not None:
                    pending.result()
            os.fsync(writer.fd)  # the tail and the file's size and blocks
        finally:
            os.close(writer.fd)
    finally:
        os.close(src)
        for view in views:
            view.release()
        for buffer in buffers:
            try:
                buffer.close()
            except BufferError:  # a view lives on in an error's traceback: the GC frees it
                pass
    return sha.hexdigest(), size
