"""Resolve an artifact store URL to an fsspec filesystem, translating its failures.

fsspec ships no type information, so this module is the one place that imports it; the rest
of the package sees the filesystem as ``Any`` behind the small helpers here. A plain local
folder gets :class:`LocalFiles`, the few calls the store makes answered by ``os`` directly:
importing fsspec (it pulls in asyncio and ssl) cost 20-80 ms of every command and of the
first ``start_run``, where the store only ever touches local files.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import secrets
from typing import IO, TYPE_CHECKING, Any

from loopml.errors import HomeNotWritable, InvalidInput, MissingExtra

if TYPE_CHECKING:
    from collections.abc import Mapping

#: fsspec protocol -> the loopml extra that installs its implementation.
_EXTRAS: Mapping[str, str] = {"s3": "s3", "s3a": "s3"}


class _SizedReader(io.BufferedReader):
    """A buffered file that knows its size at open, as fsspec's file objects do."""

    size: int


class LocalFiles:
    """The subset of fsspec's local filesystem the artifact store uses, on ``os`` calls.

    Paths are absolute POSIX-style strings, as fsspec's. Any other fsspec method is
    delegated to a real ``LocalFileSystem``, created (and fsspec imported) on first use.
    """

    protocol = "file"

    def open(self, path: str, mode: str = "rb") -> IO[Any]:
        """Open a file (binary modes only, as the store uses); readers carry ``size``."""
        if mode != "rb":
            return open(path, mode)  # the caller closes it
        reader = _SizedReader(io.FileIO(path, "rb"))
        reader.size = os.fstat(reader.fileno()).st_size
        return reader

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Create a folder and its parents."""
        os.makedirs(path, exist_ok=exist_ok)

    def mv(self, src: str, dst: str) -> None:
        """Rename ``src`` to ``dst`` atomically, replacing ``dst`` (same filesystem)."""
        os.replace(src, dst)

    def info(self, path: str) -> dict[str, Any]:
        """Name, size, type and modification time; FileNotFoundError if missing."""
        st = os.stat(path)
        kind = "directory" if os.path.isdir(path) else "file"
        return {"name": path, "size": st.st_size, "type": kind, "mtime": st.st_mtime}

    def rm_file(self, path: str) -> None:
        """Remove one file."""
        os.remove(path)

    def isfile(self, path: str) -> bool:
        """True for an existing regular file."""
        return os.path.isfile(path)

    def size(self, path: str) -> int:
        """Size in bytes; FileNotFoundError if missing."""
        return os.stat(path).st_size

    def ls(self, path: str, detail: bool = False) -> list[str]:
        """Full paths of a folder's entries (``detail`` is not supported)."""
        if detail:
            return self._fsspec().ls(path, detail=True)  # type: ignore[no-any-return]
        return [f"{path.rstrip('/')}/{name}" for name in os.listdir(path)]

    def modified(self, path: str) -> dt.datetime:
        """UTC modification time."""
        return dt.datetime.fromtimestamp(os.stat(path).st_mtime, tz=dt.UTC)

    def unstrip_protocol(self, path: str) -> str:
        """The path as a ``file://`` URL."""
        return f"file://{path}"

    def _fsspec(self) -> Any:
        import fsspec

        return fsspec.filesystem("file")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fsspec(), name)


def _local_root(url: str) -> str | None:
    """The absolute folder of a plain local URL (a path or ``file://``), else None."""
    if "::" in url:
        return None
    path = url.removeprefix("file://") if url.startswith("file://") else url
    if "://" in path:
        return None
    folder = os.path.abspath(os.path.expanduser(path)).replace(os.sep, "/")
    return folder.rstrip("/") or "/"


def resolve(url: str, storage_options: Mapping[str, object]) -> tuple[Any, str, bool]:
    """Return ``(filesystem, root path, is_local)`` for an artifact store URL.

    Raises:
        InvalidInput: The URL is empty or names a protocol fsspec does not know.
        MissingExtra: The protocol's implementation is not installed.
    """
    if not url.strip():
        raise InvalidInput(
            "the artifact store URL is empty",
            hint="Set LOOPML_ARTIFACT_URL to a folder or an fsspec URL such as s3://bucket/path.",
            url=url,
        )
    local = None if storage_options else _local_root(url)
    if local is not None:
        return LocalFiles(), local, True
    import fsspec
    import fsspec.core
    from fsspec.implementations.local import LocalFileSystem

    for part in url.split("::"):
        protocol = fsspec.core.split_protocol(part)[0] or "file"
        try:
            fsspec.get_filesystem_class(protocol)
        except ImportError as exc:
            extra = _EXTRAS.get(protocol)
            if extra is not None:
                raise MissingExtra(extra, f"the {protocol}:// artifact store") from exc
            error = MissingExtra(protocol, f"the {protocol}:// artifact store")
            error.hint = f"Install fsspec's implementation of {protocol}://: {exc}"
            raise error from exc
        except ValueError as exc:
            raise InvalidInput(
                f"unknown storage protocol {protocol!r} in artifact store URL {url!r}",
                hint="Use a local folder, file://, memory://, s3:// (loopml[s3]) or another "
                "protocol fsspec knows.",
                url=url,
                protocol=protocol,
            ) from exc
    fs, root = fsspec.core.url_to_fs(url, **storage_options)
    root = str(root).rstrip("/") or "/"
    return fs, root, isinstance(fs, LocalFileSystem)


def prepare_local(fs: Any, root: str, dirs: tuple[str, ...]) -> None:
    """Create the store's folders on a local filesystem and prove they are writable.

    Raises:
        HomeNotWritable: A folder cannot be created or a file cannot be written in it.
    """
    try:
        for path in dirs:
            fs.makedirs(path, exist_ok=True)
        # makedirs succeeds on an existing read-only folder; only a real write proves access.
        probe = f"{dirs[-1]}/.probe-{secrets.token_hex(8)}"
        with fs.open(probe, "wb"):
            pass
        fs.rm_file(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise HomeNotWritable(
            f"cannot create or write the artifact store at {root}: {reason}",
            hint="Point LOOPML_ARTIFACT_URL (or artifact_url in loopml.toml) at a writable "
            "folder, or fix the permissions of this one.",
            path=root,
        ) from exc


def fsync_file(handle: Any) -> None:
    """Flush a local file handle to disk so a crash cannot leave its bytes half-written."""
    handle.flush()
    os.fsync(handle.fileno())


def fsync_dir(path: str) -> None:
    """Make a rename inside ``path`` durable (POSIX only; a no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def info_modified(info: Mapping[str, Any]) -> float | None:
    """The modification time (POSIX seconds) in an fsspec ``info``/``ls`` entry, if any."""
    when = info.get("mtime") or info.get("LastModified") or info.get("created")
    if isinstance(when, (int, float)):
        return float(when)
    if isinstance(when, dt.datetime):
        return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()
    return None


def modified(fs: Any, path: str) -> dt.datetime | None:
    """Return the UTC modification time of ``path``, or None if the backend cannot say."""
    try:
        when = fs.modified(path)
    except (NotImplementedError, AttributeError):
        info = fs.info(path)
        when = info.get("mtime") or info.get("LastModified") or info.get("created")
    if isinstance(when, (int, float)):
        return dt.datetime.fromtimestamp(when, tz=dt.UTC)
    if isinstance(when, dt.datetime):
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return None
