"""Mark (every digest a record reaches) and sweep (what is old enough and unmarked)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from loopml.errors import CheckFailed, InvalidInput, LoopmlError, NotFound

if TYPE_CHECKING:
    from collections.abc import Callable

    from loopml.artifacts import ArtifactStore, StoredObject
    from loopml.store import Store

#: Objects written less than this long ago (seconds) are never freed by default.
DEFAULT_GRACE_S = 3600.0


@dataclass(frozen=True)
class GarbageReport:
    """What a collection found and freed (or, with ``dry_run``, would free).

    Attributes:
        objects: Objects in the store when it was listed.
        referenced: Of those, the ones a record refers to.
        freed: Digests freed (or that would be freed), sorted.
        bytes_freed: Their total size.
        recent: Unreferenced objects kept because they were written within the grace period.
        bytes_recent: Their total size.
        temporaries: Leftover temporaries of dead writers removed (0 on a dry run).
        grace_s: The grace period used, in seconds.
        dry_run: True when nothing was deleted.
    """

    objects: int
    referenced: int
    freed: tuple[str, ...]
    bytes_freed: int
    recent: int
    bytes_recent: int
    temporaries: int
    grace_s: float
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "objects": self.objects,
            "referenced": self.referenced,
            "freed": list(self.freed),
            "objects_freed": len(self.freed),
            "bytes_freed": self.bytes_freed,
            "recent": self.recent,
            "bytes_recent": self.bytes_recent,
            "temporaries": self.temporaries,
            "grace_s": self.grace_s,
            "dry_run": self.dry_run,
        }


def _read(artifacts: ArtifactStore, digest: str, owner: str, parse: Callable[[bytes], Any]) -> Any:
    try:
        return parse(artifacts.get(digest))
    except LoopmlError as exc:
        raise CheckFailed(
            f"cannot collect garbage: the manifest {digest[:12]} of {owner} cannot be read "
            f"({exc.message}); nothing was deleted",
            hint="Without the manifest, loopml cannot tell which objects that version needs. "
            "Restore the object (or the damaged pack index) from a backup, then run gc again.",
            digest=digest,
            owner=owner,
        ) from exc


def live_digests(store: Store, artifacts: ArtifactStore) -> set[str]:
    """Every digest a record of ``store`` refers to, manifests followed.

    Args:
        store: The metadata store.
        artifacts: The artifact store the manifests are read from.

    Returns:
        The digests that must be kept.

    Raises:
        CheckFailed: A dataset or model manifest cannot be read (missing or damaged), so
            the objects it names cannot be known.
    """
    from loopml.data import Manifest as DataManifest
    from loopml.models import Manifest as ModelManifest

    refs = store.artifact_references()
    live = set(refs.objects)
    for digest, version_id in refs.dataset_manifests.items():
        live.add(digest)
        manifest = _read(
            artifacts, digest, f"dataset version {version_id}", DataManifest.from_bytes
        )
        for entry in manifest.files.values():
            live.update(d for d in (entry.digest, entry.profile, entry.source) if d)
    for digest, version in refs.model_manifests.items():
        live.add(digest)
        where = f"artifact {digest}"
        manifest = _read(
            artifacts,
            digest,
            f"model version {version}",
            partial(ModelManifest.from_json, location=where),
        )
        live.update(entry.sha256 for entry in manifest.files.values())
    return live


def collect_garbage(
    store: Store,
    artifacts: ArtifactStore,
    *,
    grace_s: float = DEFAULT_GRACE_S,
    dry_run: bool = False,
) -> GarbageReport:
    """Free every object of ``artifacts`` that no record of ``store`` refers to.

    The store is listed first, the references read second, and every candidate's age
    looked up again just before it is deleted: an object written (or re-stored, which
    freshens it) by a concurrent writer within ``grace_s`` seconds is kept.

    Args:
        store: The metadata store whose records decide what is referenced.
        artifacts: The artifact store to collect.
        grace_s: Keep unreferenced objects written less than this many seconds ago
            (default one hour; 0 frees everything unreferenced, which is only safe when
            nothing else writes).
        dry_run: Report what would be freed, delete nothing.

    Returns:
        What was found and freed.

    Raises:
        InvalidInput: ``grace_s`` is negative.
        CheckFailed: A manifest cannot be read; nothing was deleted.

    Example:
        >>> report = collect_garbage(store, artifacts, dry_run=True)  # doctest: +SKIP
        >>> report.bytes_freed  # doctest: +SKIP
        0
    """
    if not grace_s >= 0:
        raise InvalidInput(
            f"the grace period must be 0 or more seconds, got {grace_s}",
            hint="The default keeps objects written in the last hour.",
        )
    listed = artifacts.inventory()
    live = live_digests(store, artifacts)
    cutoff = time.time() - grace_s
    unreferenced = [item for item in listed if item.digest not in live]
    doomed: list[StoredObject] = []
    recent: list[StoredObject] = []
    for item in unreferenced:
        (doomed if item.modified_s <= cutoff else recent).append(item)
    temporaries = 0
    if not dry_run:
        doomed, moved = _still_old(artifacts, doomed, cutoff)
        recent += moved
        artifacts.delete_many(item.digest for item in doomed)
        temporaries = artifacts.cleanup_tmp(older_than_s=grace_s)
    return GarbageReport(
        objects=len(listed),
        referenced=len(listed) - len(unreferenced),
        freed=tuple(sorted(item.digest for item in doomed)),
        bytes_freed=sum(item.size for item in doomed),
        recent=len(recent),
        bytes_recent=sum(item.size for item in recent),
        temporaries=temporaries,
        grace_s=grace_s,
        dry_run=dry_run,
    )


def _still_old(
    artifacts: ArtifactStore, doomed: list[StoredObject], cutoff: float
) -> tuple[list[StoredObject], list[StoredObject]]:
    """Split candidates by a fresh look at their age (a writer may have re-stored one)."""
    old: list[StoredObject] = []
    fresh: list[StoredObject] = []
    for item in doomed:
        try:
            now = artifacts.stat(item.digest)
        except NotFound:  # deleted meanwhile by another collector
            continue
        (old if now.modified_s <= cutoff else fresh).append(now)
    return old, fresh
