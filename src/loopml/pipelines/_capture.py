"""Capture what a step attempt prints and logs, keeping only the newest bytes.

While a step runs, ``sys.stdout`` and ``sys.stderr`` are teed (the worker's own streams
still get every byte) into one bounded buffer, and a handler on the root logger writes
each logging record there too, so the three appear in the order they happened. Only the
last :data:`LOG_LIMIT_BYTES` are kept; when older output was dropped, the text starts
with a note saying how much.

The capture is process-wide: it sees Python-level writes from every thread of the worker
process while the step runs (one step runs per worker process in both executors), but not
bytes a subprocess or C extension writes straight to the file descriptors.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import deque
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from collections.abc import Iterator

LOG_LIMIT_BYTES = 1 << 20
"""How much of a step's output is kept: the last 1 MiB."""

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The Dask worker's own machinery logs through these; they are not the step's output.
_FOREIGN = ("distributed", "tornado", "asyncio")


class LogBuffer:
    """The newest ``limit`` bytes written to it (UTF-8), and how many were dropped."""

    def __init__(self, limit: int = LOG_LIMIT_BYTES) -> None:
        self.limit = limit
        self.dropped = 0
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        """Append ``text``, dropping the oldest bytes beyond the limit."""
        data = text.encode("utf-8", "replace")
        if not data:
            return
        with self._lock:
            if len(data) > self.limit:
                self.dropped += len(data) - self.limit
                data = data[-self.limit :]
            self._chunks.append(data)
            self._size += len(data)
            while self._size > self.limit:
                head = self._chunks[0]
                extra = self._size - self.limit
                if len(head) <= extra:
                    self._chunks.popleft()
                    self._size -= len(head)
                    self.dropped += len(head)
                else:
                    self._chunks[0] = head[extra:]
                    self._size -= extra
                    self.dropped += extra

    def getvalue(self) -> bytes:
        """The kept bytes, headed by a note when older output was dropped."""
        with self._lock:
            body = b"".join(self._chunks)
            dropped = self.dropped
        if not dropped:
            return body
        # A cut can land inside a multi-byte character: drop its remains.
        while body and (body[0] & 0xC0) == 0x80:
            body = body[1:]
        note = (
            f"[loopml: output truncated: {dropped:,} earlier bytes dropped, "
            f"the last {self.limit:,} bytes are kept]\n"
        )
        return note.encode() + body


class _Tee:
    """A text stream that writes to the worker's stream and to the buffer."""

    def __init__(self, original: TextIO | None, buffer: LogBuffer) -> None:
        self._original = original
        self._buffer = buffer

    def write(self, text: str) -> int:
        self._buffer.write(text)
        try:
            return self._original.write(text) if self._original is not None else len(text)
        except (OSError, ValueError):  # a closed worker stream must not fail the step
            return len(text)

    def flush(self) -> None:
        try:
            if self._original is not None:
                self._original.flush()
        except (OSError, ValueError):
            pass

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> object:
        return getattr(self._original, name)


class _Handler(logging.Handler):
    def __init__(self, buffer: LogBuffer) -> None:
        super().__init__(logging.DEBUG)
        self._buffer = buffer
        self.setFormatter(logging.Formatter(_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(_FOREIGN):
            return
        try:
            self._buffer.write(self.format(record) + "\n")
        except Exception:  # a record that cannot be formatted must not fail the step
            self.handleError(record)


@contextmanager
def capture_output(limit: int = LOG_LIMIT_BYTES) -> Iterator[LogBuffer]:
    """Tee stdout, stderr and logging (INFO and up) into a :class:`LogBuffer`."""
    buffer = LogBuffer(limit)
    root = logging.getLogger()
    handler = _Handler(buffer)
    level = root.level
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = _Tee(stdout, buffer)
    sys.stderr = _Tee(stderr, buffer)
    root.addHandler(handler)
    # The root's default WARNING would hide a step's logger.info; lower it for the step.
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        sys.stdout, sys.stderr = stdout, stderr
