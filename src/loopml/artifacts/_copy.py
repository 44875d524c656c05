"""Copy a stream to a file while hashing it, overlapping the hashing with the writes."""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Callable


class SupportsRead(Protocol):
    """Any binary stream ``put`` can read from: ``read(size)`` returning bytes."""

    def read(self, size: int = ..., /) -> bytes:
        """Return up to ``size`` bytes; an empty result means end of stream."""
        ...


def copy_hashing(
    source: SupportsRead, out: Any, chunk_size: int, *, private_chunks: bool
) -> tuple[str, int]:
    """Copy ``source`` to the writable file ``out``; return ``(sha256 hex, size)``.

    Two buffers alternate: while one is being written (on a helper thread; file writes and
    hashlib both release the GIL), the next is read and hashed. An object smaller than one
    chunk is copied without starting the thread.

    Args:
        source: The binary stream to read to its end.
        out: The destination file object.
        chunk_size: Bytes per buffer.
        private_chunks: Hand ``out.write`` a private copy of each chunk, for filesystems
            that may keep a reference to what they are given (buffers are reused).
    """
    fill = _filler(source)
    sha = hashlib.sha256()
    first = memoryview(bytearray(chunk_size))
    count = fill(first)
    sha.update(first[:count])
    size = count
    if count < chunk_size:  # the whole object fits in one buffer
        if count:
            out.write(first[:count].tobytes() if private_chunks else first[:count])
        return sha.hexdigest(), size
    buffers = (first, memoryview(bytearray(chunk_size)))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="loopml-copy") as pool:
        turn = 0
        pending: Future[Any] | None = None
        while count:
            chunk = buffers[turn % 2][:count]
            if pending is not None:
                pending.result()  # the other buffer is free again; raises the write's error
            pending = pool.submit(out.write, chunk.tobytes() if private_chunks else chunk)
            turn += 1
            view = buffers[turn % 2]
            count = fill(view)
            sha.update(view[:count])
            size += count
        if pending is not None:
            pending.result()
    return sha.hexdigest(), size


def _filler(source: SupportsRead) -> Callable[[memoryview], int]:
    """Return a function that fills a buffer from ``source`` (short only at end of stream)."""
    read_into = getattr(source, "readinto", None)

    def once_into(buffer: memoryview) -> int:
        count = read_into(buffer)  # type: ignore[misc]
        if count is None:
            raise InvalidInput(
                "the stream returned no data without reaching its end (non-blocking?)",
                hint="Pass a blocking binary stream.",
            )
        return int(count)

    def once_read(buffer: memoryview) -> int:
        data = source.read(buffer.nbytes)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidInput(
                f"the stream returned {type(data).__name__}, not bytes",
                hint="Open files in binary mode ('rb') before storing them.",
                type=type(data).__name__,
            )
        count = len(data)
        buffer[:count] = data
        return count

    once = once_into if read_into is not None else once_read

    def fill(buffer: memoryview) -> int:
        filled = 0
        while filled < buffer.nbytes:
            count = once(buffer[filled:])
            if not count:
                break
            filled += count
        return filled

    return fill
