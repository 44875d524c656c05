"""What a store holds and when each object was last written, for garbage collection.

An object's age is the modification time of its file (a loose object) or of its pack's
index (a packed one). Storing bytes that are already present *freshens* the object, as
git does: its file's (or its pack index's) time is set to now. So an object that a
concurrent writer is about to record, whether new or found already present, always looks
recently written, and a collector with a grace period longer than any write leaves it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopml.artifacts._fs import info_modified

if TYPE_CHECKING:
    from loopml.artifacts._packs import PackIndex

_REST = re.compile(r"^[0-9a-f]{62}$")
_PREFIX = re.compile(r"^[0-9a-f]{2}$")


@dataclass(frozen=True)
class StoredObject:
    """One object of the store.

    Attributes:
        digest: Its sha256.
        size: Its length in bytes.
        modified_s: When it was last written or re-stored (POSIX seconds); 0.0 when the
            storage cannot say (such an object always counts as old).
    """

    digest: str
    size: int
    modified_s: float


def _newer(found: dict[str, StoredObject], item: StoredObject) -> None:
    known = found.get(item.digest)
    if known is None or known.modified_s < item.modified_s:
        found[item.digest] = item


def local_objects(objects: str, packs: PackIndex | None) -> dict[str, StoredObject]:
    """Every loose and packed object of a local store (the newest copy of each)."""
    found: dict[str, StoredObject] = {}
    try:
        heads = [e for e in os.scandir(objects) if _PREFIX.match(e.name) and e.is_dir()]
    except FileNotFoundError:
        heads = []
    for head in heads:
        try:
            entries = list(os.scandir(head.path))
        except FileNotFoundError:
            continue
        for entry in entries:
            if not _REST.match(entry.name):
                continue
            try:
                st = entry.stat()
            except FileNotFoundError:
                continue
            _newer(found, StoredObject(head.name + entry.name, st.st_size, st.st_mtime))
    if packs is not None:
        for pack, records in packs.packs().items():
            try:
                when = os.stat(pack[:-5] + ".idx").st_mtime
            except FileNotFoundError:  # rewritten meanwhile: its objects are in a new pack
                continue
            for digest, (_offset, size) in records.items():
                _newer(found, StoredObject(digest, size, when))
    return found


def remote_objects(fs: Any, objects: str) -> dict[str, StoredObject]:
    """Every object of a store on another fsspec filesystem."""
    found: dict[str, StoredObject] = {}
    try:
        heads = fs.ls(objects, detail=True)
    except (FileNotFoundError, NotADirectoryError):
        return found
    for head in heads:
        prefix = str(head["name"]).rstrip("/").rsplit("/", 1)[-1]
        if not _PREFIX.match(prefix):
            continue
        try:
            entries = fs.ls(str(head["name"]), detail=True)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            rest = str(entry["name"]).rstrip("/").rsplit("/", 1)[-1]
            if _REST.match(rest) and entry.get("type", "file") == "file":
                when = info_modified(entry)
                size = int(entry.get("size") or 0)
                found[prefix + rest] = StoredObject(prefix + rest, size, when or 0.0)
    return found


def freshen(path: str) -> None:
    """Set a local file's modification time to now (best effort: a read-only store or a
    file removed meanwhile is left as it is)."""
    try:
        os.utime(path)
    except OSError:
        pass
