"""The prediction log's write-ahead spool: one append-only Arrow IPC stream per open segment.

A spool file is created under a temporary name, locked (``flock``) and only then renamed
into place, so a file with the ``.arrows`` suffix always has a live owner holding its lock
or none at all. Each flush appends record batches and fsyncs, so after a SIGKILL a file
holds every batch flushed before it; a batch cut short at the end is ignored on reading.
Crash recovery takes the lock of a file nobody holds and seals it.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING, BinaryIO

from loopml.serving._records import segment_metadata

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import pyarrow as pa

    from loopml.serving._records import GroupKey, ShapeKey

SUFFIX = ".arrows"

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, recovery trusts the pid
    fcntl = None  # type: ignore[assignment]


def spool_dir(home: Path) -> Path:
    """Where a workspace's spool files live (beside the store, never in the cache)."""
    return home / "predictions" / "spool"


def _lock(handle: BinaryIO, *, wait: bool) -> bool:
    if fcntl is None:  # pragma: no cover
        return True
    flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
    try:
        fcntl.flock(handle.fileno(), flags)
    except BlockingIOError:
        return False
    return True


class SpoolFile:
    """One open segment being written: an Arrow IPC stream file, locked and fsync'd."""

    def __init__(self, folder: Path, segment_id: str, key: ShapeKey, schema: pa.Schema) -> None:
        import pyarrow as pa

        self.segment_id = segment_id
        self.key = key
        self.group: GroupKey = key[0]
        self.path = folder / f"{segment_id}{SUFFIX}"
        self.rows = 0
        self.opened = time.monotonic()
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{segment_id}.tmp"
        self._file: BinaryIO = tmp.open("wb")
        try:
            _lock(self._file, wait=True)
            self.schema = schema.with_metadata(segment_metadata(segment_id, self.group))
            self._writer = pa.ipc.new_stream(self._file, self.schema)
            self._sync()
            tmp.rename(self.path)
        except BaseException:
            self._file.close()
            tmp.unlink(missing_ok=True)
            raise

    def append(self, table: pa.Table) -> None:
        """Append rows and make them durable (fsync) before returning."""
        for batch in table.to_batches():
            self._writer.write_batch(batch)
        self._sync()
        self.rows += table.num_rows

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def age_s(self) -> float:
        """Seconds since the segment was opened."""
        return time.monotonic() - self.opened

    def finish(self) -> None:
        """End the stream (no more appends); the file stays locked until :meth:`release`."""
        with contextlib.suppress(OSError, ValueError):
            self._writer.close()
            self._sync()

    def release(self) -> None:
        """Close the file, and with it the lock (after sealing, or to leave it to recovery)."""
        self._file.close()


def read_spool(path: Path) -> pa.Table | None:
    """Every complete batch of a spool file as one table (None: the file is gone or empty).

    A batch cut short at the end (a writer killed mid-write, or one appending right now)
    is left out; everything before it is read.
    """
    import pyarrow as pa

    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    with handle:
        try:
            reader = pa.ipc.open_stream(handle)
        except (pa.ArrowInvalid, OSError):
            return None
        batches = []
        with contextlib.suppress(pa.ArrowInvalid, OSError, StopIteration):
            while True:
                batches.append(reader.read_next_batch())
        return pa.Table.from_batches(batches, schema=reader.schema)


@contextlib.contextmanager
def claim_orphan(path: Path) -> Iterator[bool]:
    """Yield True while holding the lock of a spool file no live writer holds."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        yield False
        return
    with handle:
        yield _lock(handle, wait=False)


def spool_files(folder: Path) -> list[Path]:
    """The spool files of a folder, oldest segment first (ids are time-ordered)."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"*{SUFFIX}"))


def remove_stale_tmp(folder: Path, older_than_s: float = 60.0) -> None:
    """Delete temporary files a process killed while opening a spool file left behind."""
    if not folder.is_dir():
        return
    for tmp in folder.glob(".*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            if time.time() - tmp.stat().st_mtime < older_than_s:
                continue  # maybe a writer between creating and locking it
        with claim_orphan(tmp) as free:
            if free:
                tmp.unlink(missing_ok=True)
