"""DataRepo: dataset versioning over one metadata store and one artifact store."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from loopml import lineage
from loopml.data._commit import commit_files
from loopml.data._formats import read_table, table_format
from loopml.data._manifest import FileDiff, Manifest, diff_manifests
from loopml.data._refs import check_ref_name, resolve
from loopml.entities import DatasetRef, DatasetVersion, LineageEdge, PiiPolicy, RefKind
from loopml.errors import InvalidInput, NotFound
from loopml.ids import ObjectRef
from loopml.lineage import ObjectKind, Relation

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pyarrow as pa

    from loopml.artifacts import ArtifactReader, ArtifactStore
    from loopml.entities import Dataset, LineageEdge
    from loopml.store import Store
    from loopml.workspace import Workspace

KIND = ObjectKind.DATASET_VERSION


@dataclass(frozen=True)
class LogEntry:
    """One version in a dataset's history, with its refs, what used it (``used_by``:
    downstream lineage, e.g. runs and model versions) and what it was made from
    (``made_from``: direct upstream edges, e.g. ``artifact:<original digest>`` with
    relation ``redacted`` for a table stored with personal data hashed)."""

    version: DatasetVersion
    refs: tuple[str, ...] = ()
    used_by: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    made_from: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        v = self.version
        return {
            "id": v.id,
            "seq": v.seq,
            "parents": list(v.parents),
            "message": v.message,
            "author": v.author,
            "created_at_ms": v.created_at_ms,
            "files": v.file_count,
            "bytes": v.total_bytes,
            "refs": list(self.refs),
            "used_by": [{"ref": ref, "relation": rel} for ref, rel in self.used_by],
            "made_from": [{"ref": ref, "relation": rel} for ref, rel in self.made_from],
            "redacted": v.meta.get("redacted", {}),
        }


@dataclass(frozen=True)
class CheckoutResult:
    """Files placed by a checkout, and how (``linked`` share the store's bytes)."""

    dest: Path
    files: int
    linked: int
    copied: int
    bytes: int


class DataRepo:
    """Dataset versioning over a metadata store, an artifact store and a local cache.

    Args:
        store: The metadata store.
        artifacts: Where file contents, manifests and profiles are stored.
        cache_dir: Local folder for the stat cache (the workspace's cache folder).
        author: Author recorded on commits that name none (default: the login name).
    """

    def __init__(
        self,
        store: Store,
        artifacts: ArtifactStore,
        cache_dir: Path | str,
        *,
        author: str | None = None,
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.cache_dir = Path(cache_dir)
        self.author = author

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> DataRepo:
        """The repo over ``workspace``'s stores; its actor is the commits' author."""
        return cls(
            workspace.store,
            workspace.artifacts,
            workspace.cache_dir,
            author=workspace.actor.name,
        )

    # -- writing -------------------------------------------------------------------------

    def commit(
        self,
        name: str,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        message: str = "",
        branch: str = "main",
        author: str | None = None,
        pii_policy: PiiPolicy | str | None = None,
        expect: str | None = None,
        profile: bool = True,
        project: str | None = None,
    ) -> DatasetVersion:
        """Commit files and folders as a new version of ``name`` on ``branch``.

        Unchanged content costs nothing (content addressing and the stat cache); when
        nothing changed at all, the branch head is returned and no version is made.

        Args:
            name: Dataset name (created on first commit).
            paths: A file or folder, or several.
            message: Commit message.
            branch: Branch to commit to (created if missing).
            author: Recorded author (default: the repo's author, the workspace's user).
            pii_policy: ``warn``, ``block`` or ``redact``; sets the dataset's policy.
            expect: Fail with Conflict unless the branch head is this version id.
            profile: Profile table files (the reference profile for drift).
            project: The governance project of a dataset this commit creates (default
                ``default``); an existing dataset's must match (it is fixed).

        Returns:
            The new version (or the unchanged head).

        Raises:
            InvalidInput: A path is missing or unreadable, a table does not parse, a name
                is invalid (nothing is stored).
            ValidationFailed: The ``block`` policy found personal data (nothing stored).
            Conflict: The branch moved meanwhile (compare-and-swap); nothing was lost.
        """
        items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        version, _ = self.commit_detailed(
            name,
            items,
            message=message,
            branch=branch,
            author=author,
            pii_policy=pii_policy,
            expect=expect,
            profile=profile,
            project=project,
        )
        return version

    def commit_detailed(
        self, name: str, paths: Sequence[str | os.PathLike[str]], **options: Any
    ) -> tuple[DatasetVersion, bool]:
        """Like :meth:`commit`, also telling whether a new version was made."""
        policy = options.pop("pii_policy", None)
        if options.get("author") is None:
            options["author"] = self.author
        return commit_files(
            self.store,
            self.artifacts,
            self.cache_dir,
            name,
            paths,
            pii_policy=None if policy is None else PiiPolicy(policy),
            **options,
        )

    def branch(self, name: str, branch: str, *, from_ref: str | None = None) -> DatasetRef:
        """Create ``branch`` at the version ``from_ref`` names (no data is copied)."""
        dataset, version = resolve(self.store, from_ref or f"{name}@main")
        if dataset.name != name:
            raise InvalidInput(f"{from_ref!r} is not a version of {name!r}")
        return self.store.set_ref(
            dataset.id, check_ref_name("branch", branch), RefKind.BRANCH, version.id
        )

    def tag(self, ref: str, tag: str) -> DatasetRef:
        """Name the version ``ref`` resolves to with an immutable ``tag``."""
        dataset, version = resolve(self.store, ref)
        return self.store.set_ref(dataset.id, check_ref_name("tag", tag), RefKind.TAG, version.id)

    def record_use(
        self,
        ref: str | ObjectRef,
        consumer: str | ObjectRef,
        relation: Relation | str = Relation.INPUT,
    ) -> LineageEdge:
        """Record that ``consumer`` (a run, pipeline run, model version...) read a version."""
        src = (
            ref
            if isinstance(ref, ObjectRef)
            else (
                ObjectRef.parse(ref)
                if ref.startswith(f"{KIND}:")
                else ObjectRef(KIND, self.resolve(ref).id)
            )
        )
        dst = consumer if isinstance(consumer, ObjectRef) else ObjectRef.parse(consumer)
        return lineage.link(src, dst, relation, store=self.store)

    # -- reading -------------------------------------------------------------------------

    def resolve(self, ref: str) -> DatasetVersion:
        """The version a reference (``NAME@REF``) names."""
        return resolve(self.store, ref)[1]

    def manifest(self, ref: str | DatasetVersion) -> Manifest:
        """The manifest of a version."""
        version = ref if isinstance(ref, DatasetVersion) else self.resolve(ref)
        return Manifest.from_bytes(self.artifacts.get(version.manifest_digest))

    def _pick(self, manifest: Manifest, path: str | None, ref: str, *, table: bool = False) -> str:
        if path is not None:
            if path not in manifest.files:
                raise NotFound("file", f"{ref}:{path}", hint="List files with `loopml data log`.")
            return path
        choices = [p for p in manifest.files if not table or table_format(p)]
        if len(choices) == 1:
            return choices[0]
        if not choices:
            raise InvalidInput(
                f"{ref} holds no table file",
                hint="Profiles, schemas, diffs by key and validation read .parquet, .csv, "
                ".tsv, .jsonl or .ndjson files.",
            )
        raise InvalidInput(
            f"{ref} holds {len(choices)} {'tables' if table else 'files'}; name one with "
            "path= (CLI: --path)",
            hint="Choices: " + ", ".join(choices[:10]) + (" ..." if len(choices) > 10 else ""),
        )

    def open(self, ref: str, path: str | None = None) -> ArtifactReader:
        """Open one file of a version as a verifying binary stream (nothing materialised)."""
        manifest = self.manifest(ref)
        return self.artifacts.open(manifest.files[self._pick(manifest, path, ref)].digest)

    def read_arrow(self, ref: str, path: str | None = None) -> pa.Table:
        """A table file of a version as an Arrow table; several tables of a folder version
        are concatenated when ``path`` is None."""
        manifest = self.manifest(ref)
        if path is None:
            tables = sorted(p for p in manifest.files if table_format(p))
            if len(tables) > 1:
                import pyarrow as pa

                return pa.concat_tables(
                    [self._table(manifest, p) for p in tables], promote_options="default"
                )
        return self._table(manifest, self._pick(manifest, path, ref, table=True))

    def _table(self, manifest: Manifest, path: str) -> pa.Table:
        fmt = table_format(path)
        if fmt is None:
            raise InvalidInput(f"{path} is not a table file", hint="Use open() for other files.")
        return read_table(self.artifacts.get(manifest.files[path].digest), fmt, path)

    def load_table(
        self, ref: str, path: str | None = None, *, as_: Literal["pandas", "arrow"] = "pandas"
    ) -> Any:
        """A table of a version as a pandas DataFrame (or Arrow table with ``as_="arrow"``)."""
        table = self.read_arrow(ref, path)
        return table if as_ == "arrow" else table.to_pandas()

    def profile(self, ref: str, path: str | None = None) -> dict[str, Any]:
        """The stored ``loopml.profile/1`` profile of a table file of a version."""
        manifest = self.manifest(ref)
        chosen = self._pick(manifest, path, ref, table=True)
        digest = manifest.files[chosen].profile
        if digest is None:
            raise NotFound("profile", f"{ref}:{chosen}", hint="Commit with profiling on.")
        data: dict[str, Any] = json.loads(self.artifacts.get(digest))
        return data

    def checkout(
        self, ref: str, dest: str | os.PathLike[str], *, link: bool = True, verify: bool = True
    ) -> CheckoutResult:
        """Materialise a version's files under ``dest`` (hard links where possible).

        Raises:
            DigestMismatch: A stored object was altered (with ``verify``, the default).
        """
        manifest = self.manifest(ref)
        root = Path(dest)
        if root.exists() and not root.is_dir():
            raise InvalidInput(
                f"{dest}: exists and is not a folder",
                hint="Check out into a new or existing folder.",
                path=str(dest),
            )
        items = sorted(manifest.files.items())
        for rel, _ in items:
            if rel.startswith("/") or ".." in rel.split("/"):
                raise InvalidInput(f"unsafe path {rel!r} in the manifest of {ref}")

        def place(item: tuple[str, Any]) -> str:
            rel, entry = item
            return self.artifacts.materialize(entry.digest, root / rel, link=link, verify=verify)

        pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1))
        try:
            hows = list(pool.map(place, items))
        except BaseException:  # Ctrl-C or an error: do not place the files not yet started
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        linked = hows.count("link")
        return CheckoutResult(root, len(items), linked, len(items) - linked, manifest.total_bytes)

    def diff_files(self, old: str, new: str) -> FileDiff:
        """Files added, removed and changed between two versions."""
        return diff_manifests(self.manifest(old), self.manifest(new))

    def log(self, name_or_ref: str, *, limit: int = 50) -> list[LogEntry]:
        """History of a dataset (or of the branch a reference names), newest first,
        with each version's refs and the runs and models that used it (lineage)."""
        dataset: Dataset = self.store.get_dataset(name_or_ref.partition("@")[0])
        refs: dict[str, list[str]] = {}
        for r in self.store.list_refs(dataset.id):
            refs.setdefault(r.version_id, []).append(r.name)
        if "@" in name_or_ref:
            versions: list[DatasetVersion] = []
            current: DatasetVersion | None = self.resolve(name_or_ref)
            while current is not None and len(versions) < limit:
                versions.append(current)
                current = self.store.get_version(current.parents[0]) if current.parents else None
        else:
            versions = self.store.list_versions(dataset.id, limit=limit)
        out = []
        for v in versions:
            node = ObjectRef(KIND, v.id)
            down = self.store.downstream(node, depth=20)
            used = tuple(dict.fromkeys((str(n.edge.dst), n.edge.relation) for n in down))
            up = self.store.upstream(node, depth=1)
            made = tuple(dict.fromkeys((str(n.edge.src), n.edge.relation) for n in up))
            out.append(LogEntry(v, tuple(sorted(refs.get(v.id, []))), used, made))
        return out
