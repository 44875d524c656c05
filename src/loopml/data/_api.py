"""The module-level SDK: each function runs on the current workspace's :class:`DataRepo`.

Pass ``repo=`` to use another (for example ``DataRepo.for_workspace(ws)``). Profiles,
diffs and schemas (pyarrow, pydantic) are imported by the functions that use them, so
committing plain files loads neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from loopml.data._repo import CheckoutResult, DataRepo, LogEntry
from loopml.entities import Relation
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    from loopml.artifacts import ArtifactReader
    from loopml.data._schema import Schema
    from loopml.data._validate import ValidationReport
    from loopml.entities import DatasetRef, DatasetSchema, DatasetVersion, LineageEdge, PiiPolicy
    from loopml.ids import ObjectRef
    from loopml.workspace import Workspace


def repo_for(workspace: Workspace | None = None) -> DataRepo:
    """The data repo of ``workspace`` (default: the current one), built once per workspace.

    Args:
        workspace: The workspace whose stores, cache folder and user the repo uses.
    """
    return (workspace or current_workspace()).service("data.repo", DataRepo.for_workspace)


def commit(
    name: str,
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    message: str = "",
    branch: str = "main",
    pii_policy: PiiPolicy | str | None = None,
    project: str | None = None,
    repo: DataRepo | None = None,
) -> DatasetVersion:
    """Commit files or folders as a new version of dataset ``name``.

    Args:
        name: Dataset name (created on first commit).
        paths: A file or folder, or a list of them.
        message: Commit message.
        branch: Branch to commit to (default ``main``).
        pii_policy: ``warn`` (default), ``block`` or ``redact``; saved on the dataset.
        project: The governance project of a dataset this first commit creates
            (default ``default``); fixed from then on.
        repo: Repo to use (default: :func:`repo_for`).

    Returns:
        The new version, or the branch head when nothing changed.

    Example:
        >>> v = loopml.data.commit("tx", "tx.parquet", message="October")  # doctest: +SKIP
    """
    return (repo or repo_for()).commit(
        name, paths, message=message, branch=branch, pii_policy=pii_policy, project=project
    )


def checkout(
    ref: str, dest: str | os.PathLike[str], *, link: bool = True, repo: DataRepo | None = None
) -> CheckoutResult:
    """Materialise the files of ``ref`` (``NAME@REF``) under ``dest``, verified.

    Args:
        ref: Version reference.
        dest: Folder to write into.
        link: Hard-link from a local store where possible (read-only files).
        repo: Repo to use.
    """
    return (repo or repo_for()).checkout(ref, dest, link=link)


def branch(
    name: str, new_branch: str, *, from_ref: str | None = None, repo: DataRepo | None = None
) -> DatasetRef:
    """Create a branch of dataset ``name`` at ``from_ref`` (default ``NAME@main``); no copy.

    Args:
        name: Dataset name.
        new_branch: Branch to create.
        from_ref: Version it starts at.
        repo: Repo to use.
    """
    return (repo or repo_for()).branch(name, new_branch, from_ref=from_ref)


def tag(ref: str, name: str, *, repo: DataRepo | None = None) -> DatasetRef:
    """Tag the version ``ref`` resolves to; tags never move.

    Args:
        ref: Version reference.
        name: Tag name (e.g. ``v1``).
        repo: Repo to use.
    """
    return (repo or repo_for()).tag(ref, name)


def log(name_or_ref: str, *, limit: int = 50, repo: DataRepo | None = None) -> list[LogEntry]:
    """History of a dataset or branch, newest first, with refs and consumers per version.

    Args:
        name_or_ref: ``NAME`` (every version) or ``NAME@REF`` (that version's ancestry).
        limit: Most versions to return.
        repo: Repo to use.
    """
    return (repo or repo_for()).log(name_or_ref, limit=limit)


def open(ref: str, path: str | None = None, *, repo: DataRepo | None = None) -> ArtifactReader:
    """Open one file of a version as a binary stream that verifies its digest.

    Args:
        ref: Version reference.
        path: File inside the version (optional when it holds one file).
        repo: Repo to use.
    """
    return (repo or repo_for()).open(ref, path)


def load_table(
    ref: str,
    path: str | None = None,
    *,
    as_: Literal["pandas", "arrow"] = "pandas",
    repo: DataRepo | None = None,
) -> Any:
    """Read a table of a version without materialising it (pandas or Arrow).

    Args:
        ref: Version reference.
        path: Table file inside the version (default: its only table, or all concatenated).
        as_: ``"pandas"`` or ``"arrow"``.
        repo: Repo to use.
    """
    return (repo or repo_for()).load_table(ref, path, as_=as_)


def profile(ref: str, path: str | None = None, *, repo: DataRepo | None = None) -> dict[str, Any]:
    """The stored profile (``loopml.profile/1``) of a version, or of a local table file.

    Args:
        ref: Version reference or local file.
        path: Table file inside the version.
        repo: Repo to use.
    """
    from loopml.data import _inspect  # pyarrow and schemas load on use

    return _inspect.target_profile(repo or repo_for(), ref, path)


def diff(
    old: str,
    new: str,
    *,
    key: list[str] | None = None,
    path: str | None = None,
    repo: DataRepo | None = None,
) -> dict[str, Any]:
    """Files, schema, statistics and (with ``key``) rows that differ between two versions.

    Args:
        old: Earlier version reference.
        new: Later version reference.
        key: Key columns for a row-level diff.
        path: Table file to compare (default: changed tables).
        repo: Repo to use.
    """
    from loopml.data import _inspect  # pyarrow and schemas load on use

    return _inspect.diff(repo or repo_for(), old, new, key=key, path=path)


def infer_schema(target: str, *, path: str | None = None, repo: DataRepo | None = None) -> Schema:
    """Infer a schema (types, nulls, ranges, categories, uniqueness, patterns).

    Args:
        target: Version reference or local table file.
        path: Table file inside the version.
        repo: Repo to use.
    """
    from loopml.data import _inspect  # pyarrow and schemas load on use

    return _inspect.infer(repo or repo_for(), target, path)


def save_schema(ref: str, schema: Schema, *, repo: DataRepo | None = None) -> DatasetSchema:
    """Save ``schema`` as the dataset's next schema version (tied to ``ref``'s version).

    Args:
        ref: ``NAME`` or ``NAME@REF``.
        schema: The schema.
        repo: Repo to use.
    """
    from loopml.data import _saved  # pyarrow and schemas load on use

    return _saved.save_schema(repo or repo_for(), ref, schema)


def list_schemas(name: str, *, repo: DataRepo | None = None) -> list[DatasetSchema]:
    """The saved schemas of dataset ``name``, oldest first (``seq`` 1, 2, ...).

    Args:
        name: Dataset name.
        repo: Repo to use.
    """
    from loopml.data import _saved  # pyarrow and schemas load on use

    return _saved.list_schemas(repo or repo_for(), name)


def get_schema(ref: str, *, repo: DataRepo | None = None) -> Schema:
    """A saved schema: ``NAME`` (the newest) or ``NAME@N`` (the N-th saved).

    Args:
        ref: ``NAME`` or ``NAME@N``.
        repo: Repo to use.

    Raises:
        InvalidReference: ``ref`` is neither form.
        NotFound: No such dataset, no saved schema, or no schema N.
    """
    from loopml.data import _saved  # pyarrow and schemas load on use

    return _saved.get_saved_schema(repo or repo_for(), ref)[1]


def validate(
    ref: str,
    schema: Schema | str | os.PathLike[str],
    *,
    reference: str | None = None,
    path: str | None = None,
    repo: DataRepo | None = None,
) -> ValidationReport:
    """Validate a version or local table file; the report's ``ok`` is False on errors.

    Args:
        ref: Version reference or local table file.
        schema: A Schema, a YAML file, or a dataset reference (its saved or inferred schema).
        reference: Version whose stored profile is the baseline for distribution shift.
        path: Table file inside the version.
        repo: Repo to use.
    """
    from loopml.data import _inspect  # pyarrow and schemas load on use

    return _inspect.validate(repo or repo_for(), ref, schema, reference=reference, path=path)


def record_use(
    version_ref: str | ObjectRef,
    consumer_ref: str | ObjectRef,
    relation: Relation | str = Relation.INPUT,
    *,
    repo: DataRepo | None = None,
) -> LineageEdge:
    """Record that a run, pipeline run or model version read a dataset version.

    Args:
        version_ref: ``NAME@REF`` or ``dataset_version:<id>``.
        consumer_ref: e.g. ``run:<id>`` or an ObjectRef.
        relation: Edge relation (default ``Relation.INPUT``, stored as ``input``).
        repo: Repo to use.
    """
    return (repo or repo_for()).record_use(version_ref, consumer_ref, relation)
