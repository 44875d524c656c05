"""The work folder of a batch job: its identity, the journal, part files and assembly.

``<output>.parts/`` holds ``job.json`` (what the job is: model digest, input fingerprint,
chunking and output options), ``journal.jsonl`` (one line per finished chunk) and
``parts/<chunk>.parquet``. Each part is written under a temporary name, fsynced and renamed,
then journalled; a chunk counts as done only when both its line and its part exist, so a
crash at any point leaves chunks done or not, never half. A lock file keeps two processes
from working on the same job at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from typing import TYPE_CHECKING, Any

from loopml.errors import Conflict

if TYPE_CHECKING:
    from pathlib import Path

    import pyarrow as pa

FORMAT = "loopml.batch/1"
#: Fields of job.json that must match for a re-run to reuse finished chunks.
IDENTITY = ("format", "model_digest", "input_fingerprint", "chunk_rows", "keep", "proba", "column")


def work_folder(output: Path) -> Path:
    """The work folder beside ``output``."""
    return output.with_name(output.name + ".parts")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be fsynced
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class WorkFolder:
    """The journal and part files of one batch job (see the module docstring).

    Args:
        output: The final output file.
    """

    def __init__(self, output: Path) -> None:
        self.output = output
        self.root = work_folder(output)
        self.parts = self.root / "parts"
        self.journal = self.root / "journal.jsonl"
        self._lock: Any = None

    # -- opening ------------------------------------------------------------------------

    def open(
        self, job: dict[str, Any], *, restart: bool = False
    ) -> tuple[dict[str, Any], set[str]]:
        """Create or reopen the folder for ``job``; return the stored job and finished chunks.

        Raises:
            Conflict: The folder belongs to another job (other model or input) or another
                process is working in it.
        """
        if restart and self.root.exists():
            self._take_lock()
            self.release()
            shutil.rmtree(self.root)
        self.parts.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        job_file = self.root / "job.json"
        if job_file.exists():
            stored = json.loads(job_file.read_text())
            differ = [k for k in IDENTITY if stored.get(k) != job.get(k)]
            if differ:
                self.release()
                detail = "; ".join(
                    f"{k}: {stored.get(k)!r} there, {job.get(k)!r} now" for k in differ
                )
                raise Conflict(
                    f"the work folder {self.root} holds an unfinished batch job of another model "
                    f"or input ({detail})",
                    hint="Re-run the original command to finish it, or pass --restart "
                    "(restart=True) to discard its chunks.",
                    path=str(self.root),
                    differ=differ,
                )
        else:
            stored = dict(job)
            tmp = job_file.with_name(f".job.json.{os.getpid()}")
            tmp.write_text(json.dumps(stored, indent=2, sort_keys=True))
            os.replace(tmp, job_file)
        for leftover in self.parts.glob(".*.tmp"):  # a part whose writer died mid-way
            leftover.unlink(missing_ok=True)
        return stored, self.finished()

    def _take_lock(self) -> None:
        if self._lock is not None:
            return
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.root / "lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise Conflict(
                f"another process is running the batch job of {self.output}",
                hint="Wait for it to finish, or stop it and re-run to resume.",
                path=str(self.root),
            ) from exc
        self._lock = handle

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def update_job(self, **fields: Any) -> None:
        """Record non-identity fields (the tracking run id) in job.json."""
        job_file = self.root / "job.json"
        stored = json.loads(job_file.read_text())
        stored.update(fields)
        tmp = job_file.with_name(f".job.json.{os.getpid()}")
        tmp.write_text(json.dumps(stored, indent=2, sort_keys=True))
        os.replace(tmp, job_file)

    # -- the journal --------------------------------------------------------------------

    def entries(self) -> dict[str, dict[str, Any]]:
        """Journal entries by chunk key (a torn last line is ignored)."""
        out: dict[str, dict[str, Any]] = {}
        if not self.journal.exists():
            return out
        for line in self.journal.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and "chunk" in entry:
                out[str(entry["chunk"])] = entry
        return out

    def finished(self) -> set[str]:
        """Chunks with a journal line and a part file."""
        return {key for key in self.entries() if (self.parts / f"{key}.parquet").exists()}

    def write_part(self, key: str, table: pa.Table) -> None:
        """Write one chunk's output atomically, then journal it."""
        import pyarrow.parquet as pq

        final = self.parts / f"{key}.parquet"
        tmp = self.parts / f".{key}.{os.getpid()}.tmp"
        with open(tmp, "wb") as handle:
            pq.write_table(table, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        _fsync_dir(self.parts)
        line = json.dumps(
            {"chunk": key, "rows": table.num_rows, "time_ms": time.time_ns() // 10**6}
        )
        with open(self.journal, "a") as journal:
            journal.write(line + "\n")
            journal.flush()
            os.fsync(journal.fileno())

    # -- the end ------------------------------------------------------------------------

    def assemble(self, keys: list[str]) -> tuple[str, int]:
        """Concatenate the parts of ``keys`` (in that order) into the output, atomically.

        Returns:
            The output's sha256 and its row count.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        paths = [self.parts / f"{key}.parquet" for key in keys]
        schemas = [pq.read_schema(p) for p in paths]
        schema = (
            pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema([])
        )
        self.output.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.output.with_name(f".{self.output.name}.{os.getpid()}.tmp")
        rows = 0
        try:
            with pq.ParquetWriter(tmp, schema) as writer:
                for path in paths:
                    part = pq.ParquetFile(path)
                    for group in range(part.num_row_groups):
                        table = part.read_row_group(group)
                        rows += table.num_rows
                        writer.write_table(table.cast(schema))
                    part.close()
                if not paths:
                    writer.write_table(schema.empty_table())
            digest = hashlib.sha256()
            with open(tmp, "rb") as handle:
                while block := handle.read(8 << 20):
                    digest.update(block)
                os.fsync(handle.fileno())
            os.replace(tmp, self.output)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.output.parent)
        return digest.hexdigest(), rows

    def remove(self) -> None:
        """Delete the work folder (after the output is in place)."""
        self.release()
        shutil.rmtree(self.root, ignore_errors=True)
