"""Diff, schema inference and validation over versions or local files."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from loopml.data._diff import row_diff, schema_diff, stats_diff
from loopml.data._formats import read_table, table_format
from loopml.data._infer import infer_schema
from loopml.data._profile import profile_table
from loopml.data._schema import Schema
from loopml.data._validate import ValidationReport, validate_table
from loopml.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import pyarrow as pa

    from loopml.data._repo import DataRepo


def is_local_file(target: str | os.PathLike[str]) -> bool:
    """True when ``target`` names an existing local file (not a dataset reference)."""
    return os.path.isfile(os.fspath(target))


def _missing_file(repo: DataRepo, target: str | os.PathLike[str]) -> None:
    """Raise InvalidInput naming ``target`` when it looks like a file path that does not
    exist (a table suffix or a folder separator, no ``@``) and names no dataset either."""
    text = os.fspath(target)
    if "@" in text or not (table_format(text) or "/" in text or os.sep in text):
        return
    try:
        repo.store.get_dataset(text)
    except (NotFound, InvalidInput):
        raise InvalidInput(
            f"{text}: no such file (and no dataset of that name)",
            hint="Pass an existing table file, or a dataset reference NAME@REF.",
            path=text,
        ) from None


def local_table(path: str | os.PathLike[str]) -> pa.Table:
    """Read a local table file, with errors naming it."""
    name = os.fspath(path)
    fmt = table_format(name)
    if fmt is None:
        raise InvalidInput(
            f"{name}: not a table file (by its suffix)",
            hint="Use .parquet, .csv, .tsv, .jsonl or .ndjson.",
        )
    with open(name, "rb") as handle:
        return read_table(handle.read(), fmt, name)


def load_target(
    repo: DataRepo, target: str | os.PathLike[str], path: str | None = None
) -> pa.Table:
    """The table a reference or a local file names."""
    if is_local_file(target):
        return local_table(target)
    _missing_file(repo, target)
    return repo.read_arrow(os.fspath(target), path)


def target_profile(repo: DataRepo, target: str, path: str | None = None) -> dict[str, Any]:
    """The stored profile of a version, or a fresh profile of a local file."""
    if is_local_file(target):
        return profile_table(local_table(target))
    _missing_file(repo, target)
    manifest = repo.manifest(target)
    chosen = path or _single_table(manifest.files, target)
    if chosen is None or manifest.files[chosen].profile is None:
        return profile_table(repo.read_arrow(target, path))
    return repo.profile(target, chosen)


def _single_table(files: Any, target: str) -> str | None:
    tables = [p for p in files if table_format(p)]
    return tables[0] if len(tables) == 1 else None


def diff(
    repo: DataRepo, old: str, new: str, *, key: list[str] | None = None, path: str | None = None
) -> dict[str, Any]:
    """Files added/removed/changed; for changed (or chosen) tables the schema and statistics
    diff, and with ``key`` a row-level diff."""
    files = repo.diff_files(old, new)
    out: dict[str, Any] = {
        "old": old,
        "new": new,
        "files": {
            "added": list(files.added),
            "removed": list(files.removed),
            "changed": list(files.changed),
            "unchanged": files.unchanged,
        },
        "tables": {},
    }
    old_m, new_m = repo.manifest(old), repo.manifest(new)
    paths = [path] if path else [p for p in files.changed if table_format(p)]
    if not paths and key:
        single_old, single_new = _single_table(old_m.files, old), _single_table(new_m.files, new)
        if single_old and single_new:
            paths = [single_new] if single_old == single_new else []
    for chosen in paths:
        if chosen not in old_m.files or chosen not in new_m.files:
            raise NotFound("table", chosen, hint="Name a table file present in both versions.")
        a, b = repo.read_arrow(old, chosen), repo.read_arrow(new, chosen)
        entry: dict[str, Any] = {"schema": schema_diff(a.schema, b.schema)}
        pa_, pb = old_m.files[chosen].profile, new_m.files[chosen].profile
        prof_a = repo.profile(old, chosen) if pa_ else profile_table(a)
        prof_b = repo.profile(new, chosen) if pb else profile_table(b)
        entry["stats"] = stats_diff(prof_a, prof_b)
        if key:
            entry["rows"] = row_diff(a, b, key).to_dict()
        out["tables"][chosen] = entry
    return out


def infer(repo: DataRepo, target: str, path: str | None = None) -> Schema:
    """Infer a schema from a version or a local table file."""
    table = load_target(repo, target, path)
    return infer_schema(table, target_profile(repo, target, path))


def resolve_schema(repo: DataRepo, schema: Schema | str | os.PathLike[str]) -> Schema:
    """A Schema from an object, a YAML file, or a dataset reference.

    A reference gives the newest schema saved for that version (else for the dataset with
    no version), and otherwise one inferred from the version.
    """
    if isinstance(schema, Schema):
        return schema
    text = os.fspath(schema)
    if os.path.isfile(text) or text.endswith((".yaml", ".yml")):
        return Schema.load(text)
    dataset = repo.store.get_dataset(text.partition("@")[0])
    version = repo.resolve(text)
    saved = repo.store.list_schemas(dataset.id)
    for candidate in reversed(saved):
        if candidate.version_id in (version.id, None):
            return Schema.from_yaml(repo.artifacts.get(candidate.digest).decode(), label=text)
    return infer(repo, text)


def validate(
    repo: DataRepo,
    target: str,
    schema: Schema | str | os.PathLike[str],
    *,
    reference: str | None = None,
    path: str | None = None,
) -> ValidationReport:
    """Validate a version or a local file against a schema (and a reference's profile)."""
    resolved = resolve_schema(repo, schema)
    table = load_target(repo, target, path)
    ref_profile = None if reference is None else target_profile(repo, reference)
    return validate_table(table, resolved, target=str(target), reference=ref_profile)
