"""SQL implementation of :class:`~loopml.store.protocols.DatasetStore`.

A commit is one write transaction: check the branch still points where the committer
saw it (compare-and-swap), insert the version with the next ``seq``, move the branch. On
SQLite the write lock serialises commits; on PostgreSQL the conditional UPDATE of the ref
row and the unique (dataset, seq) and ref keys turn a lost race into Conflict.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import TYPE_CHECKING

from sqlalchemy import Connection, RowMapping, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from loopml.entities import (
    Dataset,
    DatasetRef,
    DatasetSchema,
    DatasetVersion,
    PiiPolicy,
    RefKind,
)
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.ids import new_id
from loopml.store.sql import tables as t
from loopml.store.sql._time import now_ms

if TYPE_CHECKING:
    from loopml.store.sql._engine import Database

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_NAME_HINT = (
    "Names are 1 to 128 characters: letters, digits, '.', '_' and '-', starting with a "
    "letter or digit."
)


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it is a valid dataset or ref name, else raise InvalidInput."""
    if not isinstance(name, str) or not NAME.match(name) or name.endswith(".lock"):
        raise InvalidInput(f"invalid {kind} name {name!r}", hint=_NAME_HINT, name=name)
    return name


def _dataset(row: RowMapping) -> Dataset:
    return Dataset(
        id=row["id"],
        name=row["name"],
        created_at_ms=int(row["created_at_ms"]),
        pii_policy=PiiPolicy(row["pii_policy"]),
        description=row["description"],
        project=row["project"],
    )


def _version(row: RowMapping) -> DatasetVersion:
    return DatasetVersion(
        id=row["id"],
        dataset_id=row["dataset_id"],
        seq=int(row["seq"]),
        parents=tuple(json.loads(row["parents"])),
        message=row["message"],
        author=row["author"],
        created_at_ms=int(row["created_at_ms"]),
        manifest_digest=row["manifest_digest"],
        file_count=int(row["file_count"]),
        total_bytes=int(row["total_bytes"]),
        meta=json.loads(row["meta"]),
    )


def _ref(row: RowMapping) -> DatasetRef:
    return DatasetRef(
        dataset_id=row["dataset_id"],
        name=row["name"],
        kind=RefKind(row["kind"]),
        version_id=row["version_id"],
        updated_at_ms=int(row["updated_at_ms"]),
    )


class SqlDatasetStore:
    """Datasets, versions, refs and schemas in SQL tables."""

    _db: Database

    def create_dataset(
        self,
        name: str,
        *,
        pii_policy: PiiPolicy | None = None,
        description: str = "",
        project: str = "default",
    ) -> Dataset:
        """Create a dataset (in ``project``); Conflict if the name is taken."""
        check_name("dataset", name)
        row = {
            "id": new_id(),
            "name": name,
            "pii_policy": PiiPolicy(pii_policy or PiiPolicy.WARN).value,
            "description": description,
            "created_at_ms": now_ms(),
            "project": check_name("project", project),
        }
        try:
            with self._db.write() as conn:
                if self._dataset_row(conn, name) is not None:
                    raise self._exists(name)
                conn.execute(insert(t.datasets).values(**row))
        except IntegrityError as exc:
            raise self._exists(name) from exc
        return self.get_dataset(name)

    def get_dataset(self, name: str) -> Dataset:
        """Return the dataset named ``name``; NotFound if absent."""
        with self._db.read() as conn:
            row = self._dataset_row(conn, name)
        if row is None:
            raise NotFound(
                "dataset",
                name,
                hint="Check the name, or create the dataset with `loopml data commit NAME PATH`.",
            )
        return _dataset(row)

    def list_datasets(self) -> list[Dataset]:
        """Every dataset, by name."""
        with self._db.read() as conn:
            rows = conn.execute(select(t.datasets).order_by(t.datasets.c.name)).mappings()
            return [_dataset(row) for row in rows]

    def set_pii_policy(self, name: str, policy: PiiPolicy) -> Dataset:
        """Change a dataset's PII policy."""
        with self._db.write() as conn:
            result = conn.execute(
                update(t.datasets)
                .where(t.datasets.c.name == name)
                .values(pii_policy=PiiPolicy(policy).value)
            )
            if result.rowcount == 0:
                raise NotFound("dataset", name)
        return self.get_dataset(name)

    def commit_version(
        self,
        version: DatasetVersion,
        *,
        branch: str,
        expected_head: str | None,
        create: Dataset | None = None,
    ) -> DatasetVersion:
        """Record ``version`` and move ``branch`` to it (compare-and-swap on the ref);
        ``create``: insert this new dataset in the same transaction."""
        check_name("branch", branch)
        stamp = now_ms()
        try:
            with self._db.write() as conn:
                if create is not None:
                    version = self._create_with(conn, create, version)
                current = (
                    conn.execute(
                        select(t.dataset_refs).where(
                            t.dataset_refs.c.dataset_id == version.dataset_id,
                            t.dataset_refs.c.name == branch,
                        )
                    )
                    .mappings()
                    .first()
                )
                if current is not None and current["kind"] != RefKind.BRANCH.value:
                    raise Conflict(
                        f"{branch!r} is a tag of dataset {version.dataset_id}; tags do not move",
                        hint="Commit to a branch (--branch NAME).",
                    )
                head = None if current is None else current["version_id"]
                if head != expected_head:
                    raise self._moved(branch, expected_head, head)
                seq = conn.execute(
                    select(func.coalesce(func.max(t.dataset_versions.c.seq), 0)).where(
                        t.dataset_versions.c.dataset_id == version.dataset_id
                    )
                ).scalar_one()
                conn.execute(
                    insert(t.dataset_versions).values(
                        id=version.id,
                        dataset_id=version.dataset_id,
                        seq=int(seq) + 1,
                        parents=json.dumps(list(version.parents)),
                        message=version.message,
                        author=version.author,
                        created_at_ms=version.created_at_ms,
                        manifest_digest=version.manifest_digest,
                        file_count=version.file_count,
                        total_bytes=version.total_bytes,
                        meta=json.dumps(dict(version.meta), sort_keys=True),
                    )
                )
                if current is None:
                    conn.execute(
                        insert(t.dataset_refs).values(
                            dataset_id=version.dataset_id,
                            name=branch,
                            kind=RefKind.BRANCH.value,
                            version_id=version.id,
                            updated_at_ms=stamp,
                        )
                    )
                else:
                    moved = conn.execute(
                        update(t.dataset_refs)
                        .where(
                            t.dataset_refs.c.dataset_id == version.dataset_id,
                            t.dataset_refs.c.name == branch,
                            t.dataset_refs.c.version_id == expected_head,
                        )
                        .values(version_id=version.id, updated_at_ms=stamp)
                    )
                    if moved.rowcount != 1:
                        raise self._moved(branch, expected_head, None)
        except IntegrityError as exc:  # a concurrent commit took the seq or created the ref
            raise self._moved(branch, expected_head, None) from exc
        return self.get_version(version.id)

    def get_version(self, version_id: str) -> DatasetVersion:
        """Return one version by its full id; NotFound if absent."""
        with self._db.read() as conn:
            row = (
                conn.execute(
                    select(t.dataset_versions).where(t.dataset_versions.c.id == version_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound("dataset version", version_id)
        return _version(row)

    def find_versions(
        self, dataset_id: str, *, prefix: str | None = None, seq: int | None = None
    ) -> list[DatasetVersion]:
        """Versions of a dataset whose id starts with ``prefix`` or whose seq is ``seq``."""
        query = select(t.dataset_versions).where(t.dataset_versions.c.dataset_id == dataset_id)
        if prefix is not None:
            if not re.fullmatch(r"[0-9a-f]{1,32}", prefix):
                return []
            query = query.where(t.dataset_versions.c.id.startswith(prefix))
        if seq is not None:
            query = query.where(t.dataset_versions.c.seq == seq)
        with self._db.read() as conn:
            rows = conn.execute(query.order_by(t.dataset_versions.c.seq).limit(20)).mappings()
            return [_version(row) for row in rows]

    def list_versions(self, dataset_id: str, *, limit: int = 100) -> list[DatasetVersion]:
        """Versions of a dataset, newest first."""
        query = (
            select(t.dataset_versions)
            .where(t.dataset_versions.c.dataset_id == dataset_id)
            .order_by(t.dataset_versions.c.seq.desc())
            .limit(limit)
        )
        with self._db.read() as conn:
            return [_version(row) for row in conn.execute(query).mappings()]

    def set_ref(
        self,
        dataset_id: str,
        name: str,
        kind: RefKind,
        version_id: str,
        *,
        expected: str | None = None,
        create: bool = True,
    ) -> DatasetRef:
        """Create a ref (``create``: Conflict if it exists) or move a branch from ``expected``."""
        check_name(RefKind(kind).value, name)
        stamp = now_ms()
        try:
            with self._db.write() as conn:
                self._require_version(conn, dataset_id, version_id)
                if create:
                    existing = self._ref_row(conn, dataset_id, name)
                    if existing is not None:
                        raise Conflict(
                            f"{existing['kind']} {name!r} exists already",
                            hint="Pick another name, or delete the existing ref first.",
                            name=name,
                        )
                    conn.execute(
                        insert(t.dataset_refs).values(
                            dataset_id=dataset_id,
                            name=name,
                            kind=RefKind(kind).value,
                            version_id=version_id,
                            updated_at_ms=stamp,
                        )
                    )
                else:
                    moved = conn.execute(
                        update(t.dataset_refs)
                        .where(
                            t.dataset_refs.c.dataset_id == dataset_id,
                            t.dataset_refs.c.name == name,
                            t.dataset_refs.c.kind == RefKind.BRANCH.value,
                            t.dataset_refs.c.version_id == expected,
                        )
                        .values(version_id=version_id, updated_at_ms=stamp)
                    )
                    if moved.rowcount != 1:
                        raise self._moved(name, expected, None)
                row = self._ref_row(conn, dataset_id, name)
        except IntegrityError as exc:
            raise Conflict(f"ref {name!r} exists already", name=name) from exc
        assert row is not None
        return _ref(row)

    def get_ref(self, dataset_id: str, name: str) -> DatasetRef | None:
        """The ref named ``name``, or None."""
        with self._db.read() as conn:
            row = self._ref_row(conn, dataset_id, name)
        return None if row is None else _ref(row)

    def list_refs(self, dataset_id: str) -> list[DatasetRef]:
        """Every ref of a dataset, by name."""
        query = (
            select(t.dataset_refs)
            .where(t.dataset_refs.c.dataset_id == dataset_id)
            .order_by(t.dataset_refs.c.name)
        )
        with self._db.read() as conn:
            return [_ref(row) for row in conn.execute(query).mappings()]

    def delete_ref(self, dataset_id: str, name: str) -> None:
        """Remove a branch or tag (the versions stay); NotFound if absent."""
        with self._db.write() as conn:
            result = conn.execute(
                delete(t.dataset_refs).where(
                    t.dataset_refs.c.dataset_id == dataset_id, t.dataset_refs.c.name == name
                )
            )
            if result.rowcount == 0:
                raise NotFound("ref", name)

    def save_schema(
        self, dataset_id: str, digest: str, *, version_id: str | None = None
    ) -> DatasetSchema:
        """Record a schema (stored as an artifact) as the dataset's next schema version."""
        stamp = now_ms()
        try:
            with self._db.write() as conn:
                seq = conn.execute(
                    select(func.coalesce(func.max(t.dataset_schemas.c.seq), 0)).where(
                        t.dataset_schemas.c.dataset_id == dataset_id
                    )
                ).scalar_one()
                conn.execute(
                    insert(t.dataset_schemas).values(
                        dataset_id=dataset_id,
                        seq=int(seq) + 1,
                        digest=digest,
                        version_id=version_id,
                        created_at_ms=stamp,
                    )
                )
        except IntegrityError as exc:
            raise Conflict(
                "another schema was saved at the same time", hint="Save it again."
            ) from exc
        return DatasetSchema(dataset_id, int(seq) + 1, digest, stamp, version_id)

    def list_schemas(self, dataset_id: str) -> list[DatasetSchema]:
        """Saved schemas of a dataset, oldest first."""
        query = (
            select(t.dataset_schemas)
            .where(t.dataset_schemas.c.dataset_id == dataset_id)
            .order_by(t.dataset_schemas.c.seq)
        )
        with self._db.read() as conn:
            return [
                DatasetSchema(
                    r["dataset_id"],
                    int(r["seq"]),
                    r["digest"],
                    int(r["created_at_ms"]),
                    r["version_id"],
                )
                for r in conn.execute(query).mappings()
            ]

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _create_with(conn: Connection, dataset: Dataset, version: DatasetVersion) -> DatasetVersion:
        """Insert ``dataset`` (the first commit's); if it exists meanwhile, commit onto it."""
        check_name("dataset", dataset.name)
        if dataset.id != version.dataset_id:
            raise InvalidInput(
                f"the version belongs to dataset {version.dataset_id}, not to the new "
                f"dataset {dataset.id}",
                hint="Build the first version with the new dataset's id.",
            )
        existing = SqlDatasetStore._dataset_row(conn, dataset.name)
        if existing is not None:
            return dataclasses.replace(version, dataset_id=existing["id"])
        conn.execute(
            insert(t.datasets).values(
                id=dataset.id,
                name=dataset.name,
                pii_policy=PiiPolicy(dataset.pii_policy).value,
                description=dataset.description,
                created_at_ms=dataset.created_at_ms,
                project=check_name("project", dataset.project),
            )
        )
        return version

    @staticmethod
    def _dataset_row(conn: Connection, name: str) -> RowMapping | None:
        return conn.execute(select(t.datasets).where(t.datasets.c.name == name)).mappings().first()

    @staticmethod
    def _ref_row(conn: Connection, dataset_id: str, name: str) -> RowMapping | None:
        return (
            conn.execute(
                select(t.dataset_refs).where(
                    t.dataset_refs.c.dataset_id == dataset_id, t.dataset_refs.c.name == name
                )
            )
            .mappings()
            .first()
        )

    @staticmethod
    def _require_version(conn: Connection, dataset_id: str, version_id: str) -> None:
        found = conn.execute(
            select(t.dataset_versions.c.id).where(
                t.dataset_versions.c.id == version_id,
                t.dataset_versions.c.dataset_id == dataset_id,
            )
        ).first()
        if found is None:
            raise NotFound("dataset version", version_id)

    @staticmethod
    def _exists(name: str) -> Conflict:
        return Conflict(
            f"dataset {name!r} exists already",
            hint="Commit new versions to it, or pick another name.",
            name=name,
        )

    @staticmethod
    def _moved(branch: str, expected: str | None, actual: str | None) -> Conflict:
        seen = expected[:12] if expected else "nothing (a new branch)"
        now = f" and now points at {actual[:12]}" if actual else ""
        return Conflict(
            f"branch {branch!r} moved while committing: it pointed at {seen} when the commit "
            f"started{now}",
            hint="Another commit landed first; nothing was lost. Re-run the commit on top of it.",
            branch=branch,
            expected=expected,
            actual=actual,
        )
