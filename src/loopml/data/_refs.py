"""References to dataset versions: ``NAME``, ``NAME@BRANCH``, ``NAME@TAG``, ``NAME@v3``,
``NAME@<id prefix>``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loopml.errors import InvalidInput, InvalidReference, NotFound

if TYPE_CHECKING:
    from loopml.entities import Dataset, DatasetVersion
    from loopml.store import Store

DEFAULT_BRANCH = "main"
_SEQ = re.compile(r"^v(\d{1,9})$")
_PREFIX = re.compile(r"^[0-9a-f]{4,32}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it is a valid dataset, branch or tag name, else raise InvalidInput."""
    if not isinstance(name, str) or not _NAME.match(name) or name.endswith(".lock"):
        raise InvalidInput(
            f"invalid {kind} name {name!r}",
            hint="Names are 1 to 128 characters: letters, digits, '.', '_' and '-', starting "
            "with a letter or digit.",
            name=name,
        )
    return name


def check_ref_name(kind: str, name: str) -> str:
    """Like :func:`check_name`, and refuse a new branch or tag that would shadow a version.

    A ref is looked up before ``v<N>`` and id prefixes (see :func:`resolve`), so a tag
    ``v2`` or ``3fa9`` would silently take over ``NAME@v2`` or ``NAME@3fa9``; and a tag
    ``main`` would take the place of the branch ``NAME`` alone means. Exactly those names
    are refused; ``v1.2.0``, ``V2`` or ``release-3fa9`` read as nothing else and are fine.

    Raises:
        InvalidInput: The name is malformed or reads as version syntax.
    """
    check_name(kind, name)
    reads_as = None
    if _SEQ.match(name):
        reads_as = f"version {int(name[1:])} (v<N> selects the N-th version)"
    elif _PREFIX.match(name):
        reads_as = "a version id prefix (4 to 32 hex digits select the version with that id)"
    elif kind == "tag" and name == DEFAULT_BRANCH:
        reads_as = f"the {DEFAULT_BRANCH!r} branch, which NAME alone means"
    if reads_as is not None:
        raise InvalidInput(
            f"{kind} name {name!r} would shadow version syntax: NAME@{name} reads as {reads_as}",
            hint=f"Pick a name that cannot be read as a version, such as 'release-{name}'; "
            "'v1.2.0'-style names are fine.",
            name=name,
        )
    return name


@dataclass(frozen=True)
class VersionRef:
    """A parsed reference: dataset name and the ref part (branch, tag, vN or id prefix)."""

    name: str
    ref: str

    @classmethod
    def parse(cls, text: str) -> VersionRef:
        """Parse ``NAME[@REF]`` (the ref defaults to ``main``)."""
        name, sep, ref = str(text).partition("@")
        if sep and not ref:
            raise InvalidReference(
                f"empty ref in {text!r}",
                hint="Write NAME@REF: a branch, a tag, v<N> or a version id prefix.",
            )
        check_name("dataset", name)
        return cls(name, ref or DEFAULT_BRANCH)

    def __str__(self) -> str:
        return f"{self.name}@{self.ref}"


def resolve(store: Store, text: str) -> tuple[Dataset, DatasetVersion]:
    """Find the dataset and version a reference names.

    Order: a branch or tag of that name, then ``v<N>`` (the N-th version), then a version
    id prefix of at least 4 hex characters.

    Raises:
        InvalidReference: The text does not parse, or a prefix matches several versions.
        NotFound: No such dataset or version.
    """
    parsed = VersionRef.parse(text)
    dataset = store.get_dataset(parsed.name)
    ref = store.get_ref(dataset.id, parsed.ref)
    if ref is not None:
        return dataset, store.get_version(ref.version_id)
    match = _SEQ.match(parsed.ref)
    if match:
        found = store.find_versions(dataset.id, seq=int(match.group(1)))
        if found:
            return dataset, found[0]
    if _PREFIX.match(parsed.ref):
        found = store.find_versions(dataset.id, prefix=parsed.ref)
        if len(found) == 1:
            return dataset, found[0]
        if len(found) > 1:
            raise InvalidReference(
                f"{text!r} matches {len(found)} versions: "
                + ", ".join(v.id[:12] for v in found[:5]),
                hint="Give more characters of the version id.",
            )
    raise NotFound(
        "dataset version",
        str(parsed),
        hint=f"Refs of {parsed.name!r}: see `loopml data log {parsed.name}`; a ref is a branch, "
        "a tag, v<N> or a version id prefix.",
    )
