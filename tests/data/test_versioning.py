"""Commit, checkout, refs, dedup, zero-copy branches, the stat cache and concurrent commits."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopml.data import DataRepo
from loopml.errors import Conflict, DigestMismatch, InvalidInput, InvalidReference, NotFound
from tests.data.conftest import store_bytes

_names = st.text(alphabet="abcdefghij_-0123456789", min_size=1, max_size=8)
_trees = st.dictionaries(
    st.lists(_names, min_size=1, max_size=3).map(lambda parts: "/".join(parts) + ".bin"),
    st.binary(max_size=2048),
    min_size=1,
    max_size=12,
)


def _write(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _valid(files: dict[str, bytes]) -> bool:
    # a path may not be both a file and a folder
    names = set(files)
    return not any(
        other.startswith(name[: -len(".bin")] + ".bin/") for name in names for other in names
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(files=_trees, link=st.booleans())
def test_commit_then_checkout_gives_identical_bytes(
    repo: DataRepo, tmp_path: Path, files: dict[str, bytes], link: bool
) -> None:
    if not _valid(files):
        return
    src = tmp_path / f"src-{os.urandom(4).hex()}"
    _write(src, files)
    version = repo.commit("prop", src, message="round trip")
    dest = tmp_path / f"out-{os.urandom(4).hex()}"
    result = repo.checkout(f"prop@{version.id}", dest, link=link)
    assert _read_tree(dest) == files
    assert result.files == len(files)


def test_refs_resolve_by_branch_tag_seq_and_prefix(repo: DataRepo, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one")
    v1 = repo.commit("ds", tmp_path / "a.txt", message="one")
    (tmp_path / "a.txt").write_text("two!")
    v2 = repo.commit("ds", tmp_path / "a.txt", message="two")
    assert v2.parents == (v1.id,) and (v1.seq, v2.seq) == (1, 2)
    repo.tag("ds@v1", "gold")
    assert repo.resolve("ds").id == v2.id
    assert repo.resolve("ds@main").id == v2.id
    assert repo.resolve("ds@gold").id == v1.id
    assert repo.resolve("ds@v1").id == v1.id
    assert repo.resolve(f"ds@{v1.id[:8]}").id == v1.id
    with pytest.raises(Conflict):
        repo.tag("ds@v2", "gold")
    with pytest.raises(NotFound):
        repo.resolve("ds@nope")
    with pytest.raises(InvalidReference):
        repo.resolve("ds@")
    with pytest.raises(InvalidInput):
        repo.resolve("bad name@main")
    with repo.open("ds@gold") as reader:
        assert reader.read() == b"one"


def test_unchanged_commit_makes_no_version_and_dedups(repo: DataRepo, tmp_path: Path) -> None:
    _write(tmp_path / "d", {f"f{i}.bin": os.urandom(4096) for i in range(20)})
    first = repo.commit("ds", tmp_path / "d")
    size = store_bytes(repo)
    again, changed = repo.commit_detailed("ds", [tmp_path / "d"], message="")
    assert not changed and again.id == first.id
    other = repo.commit("copy", tmp_path / "d")  # same bytes, another dataset
    assert other.manifest_digest == first.manifest_digest
    assert store_bytes(repo) == size


def test_branches_copy_nothing_and_diverge(repo: DataRepo, tmp_path: Path) -> None:
    _write(tmp_path / "d", {"a.bin": b"a" * 1000, "b.bin": b"b" * 1000})
    base = repo.commit("ds", tmp_path / "d")
    size = store_bytes(repo)
    repo.branch("ds", "exp", from_ref="ds@main")
    assert store_bytes(repo) == size
    (tmp_path / "d" / "c.bin").write_bytes(b"c")
    on_exp = repo.commit("ds", tmp_path / "d", branch="exp")
    assert on_exp.parents == (base.id,)
    assert repo.resolve("ds@main").id == base.id
    assert repo.diff_files("ds@main", "ds@exp").added == ("c.bin",)


def test_stat_cache_skips_unchanged_files(repo: DataRepo, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    _write(folder, {f"f{i}.bin": bytes([i]) * 100 for i in range(10)})
    old = os.stat(folder / "f0.bin")
    os.utime(folder / "f0.bin", ns=(old.st_atime_ns - 10**9, old.st_mtime_ns - 10**9))
    for p in folder.iterdir():  # age every file beyond the racy window
        st_ = os.stat(p)
        os.utime(p, ns=(st_.st_atime_ns - 10**9, st_.st_mtime_ns - 10**9))
    first = repo.commit("ds", folder)
    # same size, same inode, same mtime: the cache trusts it and does not read the bytes
    stamp = os.stat(folder / "f1.bin")
    with open(folder / "f1.bin", "r+b") as handle:
        handle.write(b"\xff" * 100)
    os.utime(folder / "f1.bin", ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    (folder / "f2.bin").write_bytes(b"changed and longer")
    second = repo.commit("ds", folder)
    diff = repo.diff_files(f"ds@{first.id}", f"ds@{second.id}")
    assert diff.changed == ("f2.bin",)


def test_concurrent_commits_to_one_branch_lose_nothing(repo: DataRepo, tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("start")
    base = repo.commit("ds", tmp_path / "x.txt")
    results: list[object] = []
    barrier = threading.Barrier(4)

    def worker(i: int) -> None:
        path = tmp_path / f"w{i}" / "x.txt"
        path.parent.mkdir()
        path.write_text(f"worker {i}")
        barrier.wait()
        try:
            results.append(repo.commit("ds", path, expect=base.id, message=f"w{i}"))
        except Conflict as exc:
            results.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1 and len(results) == 4
    assert repo.resolve("ds@main").id == wins[0].id  # type: ignore[attr-defined]
    with pytest.raises(Conflict):
        repo.commit("ds", tmp_path / "x.txt", expect=base.id)


def test_checkout_links_read_only_and_detects_corruption(repo: DataRepo, tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"payload" * 100)
    repo.commit("ds", tmp_path / "a.bin")
    result = repo.checkout("ds@main", tmp_path / "out")
    assert result.linked == 1 and (tmp_path / "out" / "a.bin").read_bytes() == b"payload" * 100
    assert not os.access(tmp_path / "out" / "a.bin", os.W_OK) or os.geteuid() == 0
    digest = repo.manifest("ds@main").files["a.bin"].digest
    obj = Path(repo.artifacts.url) / "objects" / digest[:2] / digest[2:]
    os.chmod(obj, 0o644)
    obj.write_bytes(b"tampered" * 100)
    with pytest.raises(DigestMismatch):
        repo.checkout("ds@main", tmp_path / "out2")


def test_bad_table_in_a_commit_to_an_existing_dataset_stores_nothing(
    repo: DataRepo, tmp_path: Path
) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "good.csv").write_text("a,b\n1,2\n")
    first = repo.commit("ds", tmp_path / "d")
    before = store_bytes(repo), set(repo.artifacts.iter_digests())
    (tmp_path / "d" / "new.bin").write_bytes(os.urandom(1000))  # a new, valid file
    (tmp_path / "d" / "ragged.csv").write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(InvalidInput, match=r"ragged.csv, line 3"):
        repo.commit("ds", tmp_path / "d")
    assert (store_bytes(repo), set(repo.artifacts.iter_digests())) == before
    assert [v.id for v in repo.store.list_versions(first.dataset_id)] == [first.id]
    assert repo.resolve("ds@main").id == first.id


def test_load_table_as_arrow_and_pandas(repo: DataRepo, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,x\n2,y\n")
    repo.commit("ds", tmp_path / "t.csv")
    arrow = repo.load_table("ds@main", as_="arrow")
    assert arrow.column_names == ["a", "b"] and arrow.num_rows == 2
    assert repo.load_table("ds@main")["b"].tolist() == ["x", "y"]
    with pytest.raises(NotFound):
        repo.load_table("ds@main", "absent.csv")


def test_undecodable_file_names_commit_check_out_and_recommit(
    repo: DataRepo, tmp_path: Path
) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    odd = os.fsdecode(b"bad\xff.bin")  # bytes no encoding decodes: a lone surrogate
    (folder / odd).write_bytes(b"odd bytes")
    (folder / "caf\u00e9.bin").write_bytes(b"accented")
    for index in range(20):  # enough files to go through a pack
        (folder / f"f{index}.bin").write_bytes(bytes([index]) * 50)
    first = repo.commit("odd", folder)
    assert set(repo.manifest("odd@main").files) >= {odd, "caf\u00e9.bin"}
    result = repo.checkout("odd@main", tmp_path / "out")
    assert result.copied + result.linked == 22
    assert (tmp_path / "out" / odd).read_bytes() == b"odd bytes"
    assert repo.commit("odd", folder).id == first.id  # unchanged: no new version
