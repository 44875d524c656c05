"""Branch, tag and alias names that would shadow version syntax are refused; others resolve."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from loopml.data import DataRepo
from loopml.entities import RefKind
from loopml.errors import InvalidInput
from loopml.store.sql import SqlStore
from tests.fixtures.cli import Cli

DIGEST = "ab" * 32


def _two_versions(repo: DataRepo, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one")
    repo.commit("ds", [str(tmp_path / "a.txt")])
    (tmp_path / "a.txt").write_text("two")
    repo.commit("ds", [str(tmp_path / "a.txt")])


@pytest.mark.parametrize(
    ("name", "reads_as"),
    [
        ("v2", "version 2"),
        ("v1", "version 1"),
        ("v02", "version 2"),
        ("v0", "version 0"),
        ("3fa9c1", "a version id prefix"),
        ("2024", "a version id prefix"),
        ("beef", "a version id prefix"),
        ("0123456789abcdef0123456789abcdef", "a version id prefix"),
    ],
)
def test_version_like_tag_and_branch_names_are_refused(
    repo: DataRepo, tmp_path: Path, name: str, reads_as: str
) -> None:
    _two_versions(repo, tmp_path)
    for make in (lambda: repo.tag("ds@v1", name), lambda: repo.branch("ds", name)):
        with pytest.raises(InvalidInput) as caught:
            make()
        assert "would shadow version syntax" in caught.value.message
        assert f"NAME@{name} reads as {reads_as}" in caught.value.message
        assert f"release-{name}" in (caught.value.hint or "")
    assert repo.store.list_refs(repo.store.get_dataset("ds").id)[0].name == "main"  # nothing made


def test_a_tag_named_main_is_refused(repo: DataRepo, tmp_path: Path) -> None:
    _two_versions(repo, tmp_path)
    with pytest.raises(InvalidInput, match="the 'main' branch"):
        repo.tag("ds@v1", "main")


@pytest.mark.parametrize("name", ["a@b", "a/b", "@", "/", "v2@x", "../x", "a b"])
def test_names_with_ref_punctuation_are_invalid(repo: DataRepo, tmp_path: Path, name: str) -> None:
    _two_versions(repo, tmp_path)
    with pytest.raises(InvalidInput, match="invalid tag name"):
        repo.tag("ds@v1", name)


@pytest.mark.parametrize(
    "name", ["v1.2.0", "V2", "release-3fa9", "abc", "deadbeefs", "v1234567890", "latest", "cafe-1"]
)
def test_names_that_read_as_nothing_else_are_kept_and_resolve(
    repo: DataRepo, tmp_path: Path, name: str
) -> None:
    _two_versions(repo, tmp_path)
    repo.tag("ds@v1", name)
    assert repo.resolve(f"ds@{name}").seq == 1
    assert repo.resolve("ds@v2").seq == 2  # version syntax still means the version


def test_a_commit_to_a_new_version_like_branch_is_refused(repo: DataRepo, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one")
    with pytest.raises(InvalidInput, match="would shadow version syntax"):
        repo.commit("ds", [str(tmp_path / "a.txt")], branch="v3")
    repo.commit("ds", [str(tmp_path / "a.txt")])
    with pytest.raises(InvalidInput, match="would shadow version syntax"):
        repo.commit("ds", [str(tmp_path / "a.txt")], branch="abcd")


def test_a_branch_made_before_the_check_still_takes_commits(repo: DataRepo, tmp_path: Path) -> None:
    _two_versions(repo, tmp_path)
    dataset = repo.store.get_dataset("ds")
    head = repo.resolve("ds@main")
    repo.store.set_ref(dataset.id, "v9", RefKind.BRANCH, head.id)  # as an older loopml did
    (tmp_path / "a.txt").write_text("three")
    version = repo.commit("ds", [str(tmp_path / "a.txt")], branch="v9")
    assert repo.store.get_ref(dataset.id, "v9").version_id == version.id  # type: ignore[union-attr]


# -- registry aliases -------------------------------------------------------------------


def _model(store: SqlStore) -> None:
    store.create_model("fraud", actor="ana")
    for semver in ("1.0.0", "1.1.0"):
        store.create_model_version(
            "fraud",
            actor="ana",
            semver=semver,
            manifest_digest=DIGEST,
            payload_digest=DIGEST,
            flavor="sklearn",
            model_class="x.Y",
        )


@pytest.mark.parametrize("alias", ["latest", "LATEST", "v2", "V10"])
def test_version_like_aliases_are_refused(tmp_path: Path, alias: str) -> None:
    with SqlStore(f"sqlite:///{tmp_path / 'loopml.db'}") as store:
        _model(store)
        with pytest.raises(InvalidInput, match="would read as a version"):
            store.set_alias("fraud", alias, 1, actor="ana")
        with pytest.raises(InvalidInput, match="would read as a version"):
            store.create_promotion_request("fraud", 1, alias, actor="ana")
        store.set_alias("fraud", "v2-candidate", 2, actor="ana")
        store.set_alias("fraud", "latest-good", 1, actor="ana")
        assert store.get_alias("fraud", "v2-candidate").number == 2


def test_an_old_version_like_alias_can_still_be_deleted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'loopml.db'}"
    with SqlStore(url) as store:
        _model(store)
        store.set_alias("fraud", "old", 1, actor="ana")
        with store.database.write() as conn:  # as an older loopml could have named it
            conn.exec_driver_sql("UPDATE model_aliases SET alias = 'latest'")
        move = store.set_alias("fraud", "latest", None, actor="ana")
        assert (move.from_version, move.to_version) == (1, None)


# -- the CLI ----------------------------------------------------------------------------


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def test_cli_refuses_version_like_tags_branches_and_aliases(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (tmp_path / "a.txt").write_text("one")
    assert cli("--home", str(home), "data", "commit", "ds", "a.txt").returncode == 0
    for args, headline in (
        (
            ("data", "tag", "ds@main", "v2"),
            "error: tag name 'v2' would shadow version syntax: NAME@v2 reads as version 2",
        ),
        (
            ("data", "branch", "create", "ds", "3fa9c1"),
            "error: branch name '3fa9c1' would shadow version syntax: NAME@3fa9c1 reads as a "
            "version id prefix",
        ),
        (
            ("data", "commit", "ds", "a.txt", "--branch", "v7"),
            "error: branch name 'v7' would shadow version syntax",
        ),
    ):
        result = cli("--home", str(home), *args)
        assert result.returncode == 2, (args, result.stderr)
        _no_traceback(result)
        assert result.stderr.startswith(headline), result.stderr
    assert cli("--home", str(home), "data", "tag", "ds@main", "v1.0.0").returncode == 0
    with SqlStore(f"sqlite:///{home / 'loopml.db'}") as store:
        _model(store)
    refused = cli("--home", str(home), "models", "alias", "fraud", "latest", "1")
    assert refused.returncode == 2
    _no_traceback(refused)
    assert refused.stderr.startswith("error: alias 'latest' would read as a version")
    assert "'champion'" in refused.stderr
