"""Conformance checks for :class:`loopml.store.DatasetStore`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from loopml.entities import Dataset, DatasetVersion, PiiPolicy, RefKind
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.ids import new_id

if TYPE_CHECKING:
    from loopml.store import Store


def _version(dataset_id: str, vid: str, parents: tuple[str, ...] = ()) -> DatasetVersion:
    return DatasetVersion(
        id=vid,
        dataset_id=dataset_id,
        seq=0,
        parents=parents,
        message=f"commit {vid}",
        author="tester",
        created_at_ms=1,
        manifest_digest="0" * 64,
        file_count=1,
        total_bytes=10,
        meta={"k": [1, 2]},
    )


class DatasetStoreConformance:
    """Datasets, versions, refs and schemas; needs a ``store`` fixture."""

    def test_create_get_list_datasets(self, store: Store) -> None:
        made = store.create_dataset("tx", pii_policy=PiiPolicy.BLOCK, description="d")
        assert store.get_dataset("tx") == made and made.pii_policy is PiiPolicy.BLOCK
        with pytest.raises(Conflict):
            store.create_dataset("tx")
        with pytest.raises(InvalidInput):
            store.create_dataset("bad name/")
        with pytest.raises(NotFound):
            store.get_dataset("absent")
        assert [d.name for d in store.list_datasets()] == ["tx"]
        assert store.set_pii_policy("tx", PiiPolicy.REDACT).pii_policy is PiiPolicy.REDACT

    def test_commit_assigns_seq_and_moves_branch(self, store: Store) -> None:
        ds = store.create_dataset("tx")
        one = store.commit_version(_version(ds.id, "a" * 32), branch="main", expected_head=None)
        two = store.commit_version(
            _version(ds.id, "b" * 32, ("a" * 32,)), branch="main", expected_head="a" * 32
        )
        assert (one.seq, two.seq) == (1, 2) and two.parents == ("a" * 32,)
        assert two.meta == {"k": [1, 2]}
        ref = store.get_ref(ds.id, "main")
        assert ref is not None and ref.version_id == "b" * 32 and ref.kind is RefKind.BRANCH
        assert [v.id for v in store.list_versions(ds.id)] == ["b" * 32, "a" * 32]
        assert [v.id for v in store.find_versions(ds.id, prefix="bbbb")] == ["b" * 32]
        assert [v.id for v in store.find_versions(ds.id, seq=1)] == ["a" * 32]

    def test_a_first_commit_creates_its_dataset_in_the_same_transaction(self, store: Store) -> None:
        refused = Dataset(new_id(), "lonely", 1)
        with pytest.raises(Conflict):  # the branch is not where the commit expects it
            store.commit_version(
                _version(refused.id, "a" * 32),
                branch="main",
                expected_head="f" * 32,
                create=refused,
            )
        with pytest.raises(NotFound):
            store.get_dataset("lonely")
        assert store.list_datasets() == []
        made = Dataset(new_id(), "fresh", 2, PiiPolicy.REDACT, "d")
        one = store.commit_version(
            _version(made.id, "b" * 32), branch="main", expected_head=None, create=made
        )
        assert store.get_dataset("fresh") == made and one.seq == 1
        late = Dataset(new_id(), "fresh", 3)  # a concurrent first commit that came second
        two = store.commit_version(
            _version(late.id, "c" * 32), branch="dev", expected_head=None, create=late
        )
        assert two.dataset_id == made.id and two.seq == 2
        assert [d.name for d in store.list_datasets()] == ["fresh"]

    def test_stale_head_is_a_conflict_and_writes_nothing(self, store: Store) -> None:
        ds = store.create_dataset("tx")
        store.commit_version(_version(ds.id, "a" * 32), branch="main", expected_head=None)
        with pytest.raises(Conflict):
            store.commit_version(_version(ds.id, "c" * 32), branch="main", expected_head=None)
        with pytest.raises(Conflict):
            store.commit_version(_version(ds.id, "d" * 32), branch="main", expected_head="e" * 32)
        assert [v.id for v in store.list_versions(ds.id)] == ["a" * 32]

    def test_refs_tags_do_not_move(self, store: Store) -> None:
        ds = store.create_dataset("tx")
        store.commit_version(_version(ds.id, "a" * 32), branch="main", expected_head=None)
        store.set_ref(ds.id, "v1", RefKind.TAG, "a" * 32)
        with pytest.raises(Conflict):
            store.set_ref(ds.id, "v1", RefKind.TAG, "a" * 32)
        with pytest.raises(Conflict):
            store.commit_version(_version(ds.id, "b" * 32), branch="v1", expected_head="a" * 32)
        with pytest.raises(NotFound):
            store.set_ref(ds.id, "x", RefKind.BRANCH, "f" * 32)
        assert [r.name for r in store.list_refs(ds.id)] == ["main", "v1"]
        store.delete_ref(ds.id, "v1")
        assert store.get_ref(ds.id, "v1") is None

    def test_schemas_are_numbered(self, store: Store) -> None:
        ds = store.create_dataset("tx")
        first = store.save_schema(ds.id, "1" * 64)
        second = store.save_schema(ds.id, "2" * 64)
        assert (first.seq, second.seq) == (1, 2)
        assert [s.digest for s in store.list_schemas(ds.id)] == ["1" * 64, "2" * 64]
