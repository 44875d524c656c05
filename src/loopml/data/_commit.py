"""Committing files as a dataset version: scan, hash what changed, check, store, record.

Order matters for "nothing half-committed": every input is stat-ed, every changed table is
parsed, profiled and scanned for personal data *before* any byte is stored, so bad input
or a ``block`` policy stores nothing; objects are then stored (content-addressed, so a
retry costs nothing), the manifest last, and the version is recorded with a
compare-and-swap on the branch.
"""

from __future__ import annotations

import contextlib
import gc
import getpass
import hashlib
import json
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopml import lineage
from loopml.data._formats import read_table, table_format, write_table
from loopml.data._manifest import Entry, Manifest, Source, StatCache, collect
from loopml.data._refs import check_name, check_ref_name
from loopml.entities import Dataset, DatasetVersion, LineageEdge, PiiPolicy
from loopml.errors import Conflict, InvalidInput, NotFound, PermissionDenied, ValidationFailed
from loopml.ids import ObjectRef, new_id
from loopml.lineage import ObjectKind, Relation

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from loopml.artifacts import ArtifactStore
    from loopml.data._pii import PiiFinding
    from loopml.entities import LineageEdge
    from loopml.store import Store


@dataclass
class _Table:
    source: Source
    data: bytes
    fmt: str
    profile: dict[str, Any]
    findings: list[PiiFinding]
    redacted: tuple[str, ...] = ()


def _author() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _version_id(*parts: object) -> str:
    body = json.dumps([*parts, time.time_ns(), os.urandom(8).hex()], default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def _read(source: Source) -> bytes:
    with open(source.path, "rb") as handle:
        return handle.read()


def _dataset(store: Store, name: str, project: str | None = None) -> Dataset | None:
    """The dataset, or None when it is to be created.

    A server answers a lookup of a dataset that does not exist as one in the default
    project, so a caller granted only in ``project`` is refused it; such a commit goes on
    as a creation in ``project``, and the server then checks that (and refuses it if the
    name is taken in a project the caller cannot write), revealing nothing more.
    """
    try:
        return store.get_dataset(name)
    except NotFound:
        return None
    except PermissionDenied:
        if project is None:
            raise
        return None


def redaction_edges(version_id: str, manifest: Manifest) -> list[LineageEdge]:
    """One ``redacted`` edge per stored-redacted file: from the digest of the original,
    unredacted file (whose bytes are not stored) to the version."""
    dst = ObjectRef(ObjectKind.DATASET_VERSION, version_id)
    redacted = [(p, e.source) for p, e in manifest.files.items() if e.redacted and e.source]
    return [
        lineage.edge(ObjectRef(ObjectKind.ARTIFACT, source), dst, Relation.REDACTED)
        for _, source in sorted(redacted)
        if source
    ]


def _check_tables(tables: list[_Table], policy: PiiPolicy, name: str) -> None:
    flagged = {t.source.rel: [f for f in t.findings if f.flagged] for t in tables}
    flagged = {path: found for path, found in flagged.items() if found}
    if policy is PiiPolicy.BLOCK and flagged:
        where = "; ".join(
            f"{path}: " + ", ".join(f"{f.column} ({f.kind}, {f.confidence:.2f})" for f in found)
            for path, found in flagged.items()
        )
        raise ValidationFailed(
            f"commit to {name!r} refused: personal data found ({where}); nothing was stored",
            hint="Remove or hash those columns, or change the dataset's PII policy "
            "(--pii-policy redact stores them hashed).",
            findings={p: [f.to_dict() for f in fs] for p, fs in flagged.items()},
        )
    if policy is PiiPolicy.REDACT:
        from loopml.data._pii import redact

        for table in tables:
            columns = [f.column for f in table.findings if f.flagged]
            if columns:
                parsed = redact(read_table(table.data, table.fmt, table.source.rel), columns)
                table.data = write_table(parsed, table.fmt)
                table.redacted = tuple(columns)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a commit allocates.

    A 10,000-file commit builds tens of thousands of small tuples and dicts; with pandas
    and pyarrow loaded, the full collections they trigger took 60-90 ms of a 0.25 s
    re-commit. Nothing here makes reference cycles, so collection simply waits until the
    end.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class _Head:
    """Where the branch stands before the commit, and the PII policy the commit applies."""

    dataset: Dataset | None
    policy: PiiPolicy
    version: DatasetVersion | None
    parent: Manifest

    @property
    def same_policy(self) -> bool:
        """Whether the head was committed under ``policy``.

        A table stored under another PII policy is checked again (a switch to redact must
        redact files committed before under warn, and a switch to block must refuse them).
        """
        return self.version is None or self.version.meta.get("pii_policy") == self.policy.value


@dataclass
class _Plan:
    """What the commit holds: unchanged entries, new plain files, and parsed tables."""

    entries: dict[str, Entry]
    to_store: list[Source]
    tables: list[_Table]

    def same_as(self, parent: Manifest) -> bool:
        """Nothing to store and every entry as in ``parent``."""
        return not self.to_store and not self.tables and self.entries == parent.files


def _head(
    store: Store,
    artifacts: ArtifactStore,
    name: str,
    branch: str,
    policy: PiiPolicy | None,
    expect: str | None,
    project: str | None = None,
) -> _Head:
    """Read the dataset, its ``branch`` and the head's manifest; enforce ``expect``."""
    dataset = _dataset(store, name, project)
    effective = policy or (dataset.pii_policy if dataset else PiiPolicy.WARN)
    head = None if dataset is None else store.get_ref(dataset.id, branch)
    if head is None:  # a new branch; one made before names were checked still takes commits
        check_ref_name("branch", branch)
    head_version = None if head is None else store.get_version(head.version_id)
    if expect is not None and (head_version is None or head_version.id != expect):
        seen = "nothing" if head_version is None else head_version.id[:12]
        raise Conflict(
            f"branch {branch!r} of {name!r} points at {seen}, not at {expect[:12]}",
            hint="Someone committed in between; look at `loopml data log` and retry.",
        )
    parent = (
        Manifest.from_bytes(artifacts.get(head_version.manifest_digest))
        if head_version is not None
        else Manifest()
    )
    return _Head(dataset, effective, head_version, parent)


def _plan(sources: list[Source], head: _Head, cache: StatCache, *, profile: bool) -> _Plan:
    """Sort every source into kept (by stat cache or digest), to store, or table to parse.

    The hot loop of a re-commit: one stat-cache lookup per file, and a file is read only
    when the cache does not vouch for it.
    """
    known = {e.source or e.digest: e for e in head.parent.files.values()}
    same_policy = head.same_policy
    entries: dict[str, Entry] = {}
    to_store: list[Source] = []
    tables: list[_Table] = []
    lookup = cache.lookup
    for source in sources:
        digest = lookup(source)
        previous = known.get(digest) if digest else None
        if previous is not None and same_policy:
            entries[source.rel] = previous
            continue
        fmt = table_format(source.rel)
        if previous is not None and fmt is None:
            entries[source.rel] = previous
            continue
        if fmt is None:
            to_store.append(source)
            continue
        data = _read(source)
        digest = hashlib.sha256(data).hexdigest()
        if digest in known and same_policy:  # touched, not changed: keep its profile
            entries[source.rel] = known[digest]
            cache.record(source, digest)
            continue
        from loopml.data._pii import scan_table  # pyarrow loads only when a table is committed
        from loopml.data._profile import profile_table

        table = read_table(data, fmt, source.path)
        tables.append(
            _Table(
                source,
                data,
                fmt,
                profile_table(table) if profile else {},
                scan_table(table),
            )
        )
    return _Plan(entries, to_store, tables)


def _dataset_for(
    store: Store, name: str, head: _Head, project: str | None = None
) -> tuple[Dataset, Dataset | None]:
    """The dataset the version belongs to, and that dataset again if it is still to create.

    A new dataset is recorded with its first version, in the same transaction: an
    interrupted or killed first commit leaves no empty dataset behind.
    """
    if head.dataset is None:
        new_dataset = Dataset(
            new_id(), name, time.time_ns() // 1_000_000, head.policy,
            project=project or "default",
        )  # fmt: skip
        return new_dataset, new_dataset
    if project is not None and project != head.dataset.project:
        raise InvalidInput(
            f"dataset {name!r} is in project {head.dataset.project!r}, not {project!r}",
            hint="A dataset's project is fixed when it is created: commit without "
            "--project, or to a new dataset name.",
            field="project",
        )
    if head.dataset.pii_policy != head.policy:  # saved only once the commit passed the policy
        return store.set_pii_policy(name, head.policy), None
    return head.dataset, None


def _store_objects(artifacts: ArtifactStore, cache: StatCache, plan: _Plan) -> dict[str, Any]:
    """Store new files and tables (with their profiles); return the PII findings by path."""
    entries = plan.entries
    digests = artifacts.put_many([s.path for s in plan.to_store])
    for source, digest in zip(plan.to_store, digests, strict=True):
        entries[source.rel] = Entry(digest, source.size)
        cache.record(source, digest)
    pii: dict[str, Any] = {}
    for table in plan.tables:
        original = hashlib.sha256(table.data).hexdigest() if not table.redacted else None
        stored = artifacts.put(table.data)
        profile_digest = (
            artifacts.put(json.dumps(table.profile).encode()) if table.profile else None
        )
        source_digest = original or hashlib.sha256(_read(table.source)).hexdigest()
        entries[table.source.rel] = Entry(
            stored,
            len(table.data),
            profile_digest,
            None if source_digest == stored else source_digest,
            table.redacted,
        )
        cache.record(table.source, source_digest)
        if table.findings:
            pii[table.source.rel] = [f.to_dict() for f in table.findings]
    return pii


def _new_version(
    dataset: Dataset,
    head: DatasetVersion | None,
    manifest: Manifest,
    manifest_digest: str,
    *,
    policy: PiiPolicy,
    pii: dict[str, Any],
    message: str,
    author: str,
) -> DatasetVersion:
    """The version row: parents, counts, and the PII policy, findings and redactions."""
    meta: dict[str, Any] = {"pii_policy": policy.value}
    if pii:
        meta["pii"] = pii
    redactions = {p: list(e.redacted) for p, e in sorted(manifest.files.items()) if e.redacted}
    if redactions:
        meta["redacted"] = redactions
    parents = (head.id,) if head is not None else ()
    return DatasetVersion(
        id=_version_id(dataset.id, parents, manifest_digest, message, author),
        dataset_id=dataset.id,
        seq=0,
        parents=parents,
        message=message,
        author=author,
        created_at_ms=time.time_ns() // 1_000_000,
        manifest_digest=manifest_digest,
        file_count=len(manifest.files),
        total_bytes=manifest.total_bytes,
        meta=meta,
    )


def _settle(store: Store, cache: StatCache, version_id: str, manifest: Manifest) -> None:
    """Save the stat cache and record the version's redaction edges.

    Idempotent: on an unchanged re-commit it repairs a crash between the version row and
    its edges.
    """
    cache.save()
    edges = redaction_edges(version_id, manifest)
    if edges:
        lineage.record(edges, store=store)


@_collector_paused()
def commit_files(
    store: Store,
    artifacts: ArtifactStore,
    cache_dir: Path,
    name: str,
    paths: Sequence[str | os.PathLike[str]],
    *,
    message: str = "",
    branch: str = "main",
    author: str | None = None,
    pii_policy: PiiPolicy | None = None,
    expect: str | None = None,
    profile: bool = True,
    project: str | None = None,
) -> tuple[DatasetVersion, bool]:
    """Commit ``paths`` to ``name@branch``; return (version, whether anything changed).

    ``project`` is the governance project of a dataset this commit creates; for an
    existing dataset it must be the dataset's own (a project is fixed at creation).
    """
    check_name("dataset", name)
    check_name("branch", branch)
    policy = PiiPolicy(pii_policy) if pii_policy is not None else None
    sources = collect(paths)
    head = _head(store, artifacts, name, branch, policy, expect, project)
    cache = StatCache.for_dataset(cache_dir, name)
    plan = _plan(sources, head, cache, profile=profile)
    _check_tables(plan.tables, head.policy, name)
    dataset, new_dataset = _dataset_for(store, name, head, project)
    if head.version is not None and plan.same_as(head.parent):
        # Nothing changed: skip re-serialising and hashing a manifest equal to the head's.
        _settle(store, cache, head.version.id, head.parent)
        return head.version, False
    pii = _store_objects(artifacts, cache, plan)
    manifest = Manifest(plan.entries)
    body = manifest.to_bytes()
    manifest_digest = hashlib.sha256(body).hexdigest()
    if head.version is not None and manifest_digest == head.version.manifest_digest:
        _settle(store, cache, head.version.id, manifest)
        return head.version, False
    artifacts.put(body)
    version = _new_version(
        dataset,
        head.version,
        manifest,
        manifest_digest,
        policy=head.policy,
        pii=pii,
        message=message,
        author=author or _author(),
    )
    recorded = store.commit_version(
        version,
        branch=branch,
        expected_head=None if head.version is None else head.version.id,
        create=new_dataset,
    )
    _settle(store, cache, recorded.id, manifest)
    return recorded, True
