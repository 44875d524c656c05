"""Resolve an artifact store URL to an fsspec filesystem, translating its failures.

fsspec ships no type information, so this module is the one place that imports it; the rest
of the package sees the filesystem as ``Any`` behind the small helpers here.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from typing import TYPE_CHECKING, Any

import fsspec
import fsspec.core
from fsspec.implementations.local import LocalFileSystem

from loopml.errors import HomeNotWritable, InvalidInput, MissingExtra

if TYPE_CHECKING:
    from collections.abc import Mapping

#: fsspec protocol -> the loopml extra that installs its implementation.
_EXTRAS: Mapping[str, str] = {"s3": "s3", "s3a": "s3"}


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
