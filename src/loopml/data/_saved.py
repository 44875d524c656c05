"""Saved schemas: a dataset's schemas versioned as their own objects (``NAME@1``, ``NAME@2``).

A saved schema is the YAML text stored in the artifact store plus a row (dataset, seq,
digest, time, and optionally the data version it was made for).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from loopml.data._refs import check_name
from loopml.data._schema import Schema
from loopml.errors import InvalidReference, NotFound

if TYPE_CHECKING:
    from loopml.data._repo import DataRepo
    from loopml.entities import DatasetSchema

_SEQ = re.compile(r"^[1-9]\d{0,8}$")


def save_schema(repo: DataRepo, ref: str, schema: Schema) -> DatasetSchema:
    """Store ``schema`` as the next saved schema of the dataset ``ref`` names.

    ``ref`` is ``NAME`` (a schema of the dataset) or ``NAME@REF`` (tied to that version).
    """
    dataset = repo.store.get_dataset(check_name("dataset", ref.partition("@")[0]))
    version = repo.resolve(ref) if "@" in ref else None
    digest = repo.artifacts.put(schema.to_yaml().encode())
    return repo.store.save_schema(
        dataset.id, digest, version_id=None if version is None else version.id
    )


def list_schemas(repo: DataRepo, name: str) -> list[DatasetSchema]:
    """Saved schemas of dataset ``name``, oldest first (NotFound for an unknown dataset)."""
    dataset = repo.store.get_dataset(check_name("dataset", name))
    return repo.store.list_schemas(dataset.id)


def parse_schema_ref(text: str) -> tuple[str, int | None]:
    """Split ``NAME[@N]`` into the dataset name and the schema number (None: the newest)."""
    name, sep, seq = str(text).partition("@")
    check_name("dataset", name)
    if not sep:
        return name, None
    if not _SEQ.match(seq):
        raise InvalidReference(
            f"invalid schema reference {text!r}",
            hint="Write NAME (the newest saved schema) or NAME@N (its N-th saved schema, "
            "N >= 1); list them with `loopml data schema list NAME`.",
        )
    return name, int(seq)


def get_saved_schema(repo: DataRepo, ref: str) -> tuple[DatasetSchema, Schema]:
    """The saved schema ``NAME[@N]`` names: its record and the parsed schema.

    Raises:
        InvalidReference: ``ref`` is not ``NAME`` or ``NAME@N``.
        NotFound: No such dataset, no schema saved, or no schema number N.
    """
    name, seq = parse_schema_ref(ref)
    saved = list_schemas(repo, name)
    if not saved:
        raise NotFound(
            "schema",
            name,
            hint=f"Save one with `loopml data schema infer {name}@main --save` or "
            f"`loopml data schema save {name} schema.yaml`.",
        )
    if seq is None:
        record = saved[-1]
    else:
        found = [s for s in saved if s.seq == seq]
        if not found:
            raise NotFound(
                "schema",
                f"{name}@{seq}",
                hint=f"{name} has schemas 1 to {saved[-1].seq}; see `loopml data schema list "
                f"{name}`.",
            )
        record = found[0]
    text = repo.artifacts.get(record.digest).decode()
    return record, Schema.from_yaml(text, label=f"{name}@{record.seq}")
