"""Identifiers, digests, semantic versions and object references.

Ids are 32 lowercase hex characters whose first 12 encode the creation time in
milliseconds, so they sort by creation time in every database and stay unique across
processes without coordination.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from loopml.errors import InvalidInput, InvalidReference

_HEX_ID = re.compile(r"^[0-9a-f]{32}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


class ObjectKind(StrEnum):
    """Kinds of object loopml records; lineage and the audit log speak in these.

    The values are the strings stored in the database (``lineage_edges.src_kind`` ...), so
    they never change; an :class:`ObjectRef` keeps its kind as that plain string.
    """

    ALERT = "alert"
    ARTIFACT = "artifact"  #: a content-addressed blob (``artifact:<sha256>``)
    AUDIT_EVENT = "audit_event"
    DATASET = "dataset"
    DATASET_VERSION = "dataset_version"
    DEPLOYMENT = "deployment"
    EVALUATION = "evaluation"
    FEATURE_SERVICE = "feature_service"  #: one applied version of a feature service
    FEATURE_VIEW = "feature_view"  #: one applied version of a feature view
    MODEL = "model"
    MODEL_VERSION = "model_version"
    MONITOR_WINDOW = "monitor_window"
    PIPELINE_RUN = "pipeline_run"
    PREDICTION_SEGMENT = "prediction_segment"  #: a sealed file of the prediction log
    RUN = "run"
    STEP_RUN = "step_run"
    TRIGGER = "trigger"
    TRIGGER_EVENT = "trigger_event"


#: The values of :class:`ObjectKind` (kept for callers that test membership of a string).
OBJECT_KINDS: Final = frozenset(kind.value for kind in ObjectKind)


_id_lock = threading.Lock()
_last_id = [0, 0]  # [millis, random tail] of the previous id made by this process


def new_id() -> str:
    """Return a new time-ordered, globally unique 32-character hex id.

    Within one process ids are strictly increasing, even inside the same millisecond
    (the random tail of the previous id is incremented, as ULIDs do).
    """
    millis = time.time_ns() // 1_000_000
    with _id_lock:
        if millis <= _last_id[0]:
            millis, tail = _last_id[0], _last_id[1] + 1
        else:
            tail = int.from_bytes(os.urandom(10), "big") >> 1
        _last_id[0], _last_id[1] = millis, tail
    return f"{millis:012x}{tail:020x}"


def is_id(value: str) -> bool:
    """Tell whether ``value`` has the shape of an id made by :func:`new_id`."""
    return bool(_HEX_ID.match(value))


def sha256_hex(data: bytes) -> str:
    """Return the sha256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def check_digest(value: str) -> str:
    """Return ``value`` if it is a sha256 hex digest, else raise InvalidReference.

    A ``sha256:`` prefix is accepted and removed.
    """
    digest = value.removeprefix("sha256:").lower()
    if not _DIGEST.match(digest):
        raise InvalidReference(
            f"not a sha256 digest: {value!r}",
            hint="A digest is 64 hexadecimal characters, optionally prefixed by 'sha256:'.",
            value=value,
        )
    return digest


#: Longest path of a file inside a run (the ``run_artifacts.path`` column).
MAX_ARTIFACT_PATH = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def check_artifact_path(path: str, *, what: str = "artifact path") -> str:
    """Return ``path`` (a trailing ``/`` removed) if it is a safe path inside a run.

    Safe means relative, ``/``-separated, with no empty, ``.`` or ``..`` part, no
    backslash, NUL or other control character, and at most :data:`MAX_ARTIFACT_PATH`
    characters: such a path can be checked out under any folder without leaving it.

    Args:
        path: The path as given by the caller.
        what: What the path names, for the message (``"model name"``...).

    Raises:
        InvalidInput: The path is none of that; the message says which rule it breaks.
    """
    problem = None
    if not isinstance(path, str) or not path.rstrip("/"):
        problem = "is empty"
    elif "\x00" in path:
        problem = "contains a NUL byte"
    elif _CONTROL.search(path):
        problem = "contains a control character"
    elif path.startswith("/") or _DRIVE.match(path):
        problem = "is absolute"
    elif "\\" in path:
        problem = "contains a backslash"
    elif len(path) > MAX_ARTIFACT_PATH:
        problem = f"is {len(path):,} characters long"
    else:
        parts = path.rstrip("/").split("/")
        bad = next((p for p in parts if p in ("", ".", "..")), None)
        if bad is not None:
            problem = "has an empty part ('//')" if bad == "" else f"has a {bad!r} part"
    if problem is not None:
        raise InvalidInput(
            f"invalid {what} {path!r}: it {problem}",
            hint=f"A {what} is relative, uses '/', has no '.' or '..' parts, no NUL, "
            f"control or backslash characters, and is at most {MAX_ARTIFACT_PATH} characters.",
            path=path,
        )
    return path.rstrip("/")


@dataclass(frozen=True, order=True, repr=False)
class ObjectRef:
    """A typed reference to any object loopml records, written ``kind:id``.

    Args:
        kind: An :class:`ObjectKind` (or its string); kept as the plain string.
        id: The object's id (or digest, for artifacts).
    """

    kind: ObjectKind | str
    id: str

    def __post_init__(self) -> None:
        if self.kind not in OBJECT_KINDS:
            raise InvalidReference(
                f"unknown object kind {self.kind!r} in reference {self.kind}:{self.id}",
                hint=f"Use one of: {', '.join(sorted(OBJECT_KINDS))}.",
                kind=self.kind,
            )
        if type(self.kind) is not str:  # an ObjectKind: store the plain value, as parsed
            object.__setattr__(self, "kind", str(self.kind))
        if not self.id or len(self.id) > 200 or any(c.isspace() for c in self.id):
            raise InvalidReference(
                f"invalid object id {self.id!r} for kind {self.kind!r}",
                hint="An id is 1 to 200 characters without whitespace.",
                kind=self.kind,
                id=self.id,
            )

    @classmethod
    def parse(cls, text: str) -> ObjectRef:
        """Parse ``"kind:id"`` into an ObjectRef.

        >>> ObjectRef.parse("run:0193")
        ObjectRef(kind='run', id='0193')
        """
        kind, sep, ident = text.partition(":")
        if not sep or not _KIND.match(kind):
            raise InvalidReference(
                f"cannot parse object reference {text!r}",
                hint="Write references as KIND:ID, for example run:0193a2... or artifact:<sha256>.",
                value=text,
            )
        return cls(kind, ident)

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    def __repr__(self) -> str:
        return f"ObjectRef(kind={self.kind!r}, id={self.id!r})"


@dataclass(frozen=True, order=True)
class SemVer:
    """A semantic version ``MAJOR.MINOR.PATCH``."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> SemVer:
        """Parse ``"1.2.3"``; raise InvalidReference on anything else."""
        match = _SEMVER.match(text.strip())
        if not match:
            raise InvalidReference(
                f"not a semantic version: {text!r}",
                hint="Write versions as MAJOR.MINOR.PATCH, for example 1.4.0.",
                value=text,
            )
        return cls(*(int(part) for part in match.groups()))

    def bump(self, part: str) -> SemVer:
        """Return the next version, bumping ``"major"``, ``"minor"`` or ``"patch"``."""
        if part == "major":
            return SemVer(self.major + 1, 0, 0)
        if part == "minor":
            return SemVer(self.major, self.minor + 1, 0)
        if part == "patch":
            return SemVer(self.major, self.minor, self.patch + 1)
        raise InvalidReference(
            f"unknown version part {part!r}", hint="Use major, minor or patch.", value=part
        )

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class ModelUri:
    """A parsed model URI.

    Accepted forms: ``models:/NAME@ALIAS``, ``models:/NAME/VERSION``,
    ``runs:/RUN_ID/PATH``, and ``SCHEME:/NAME[/PATH]`` for any other scheme (one added
    with ``loopml.models.register_uri_resolver``).
    """

    scheme: str
    name: str
    alias: str | None = None
    version: str | None = None
    path: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelUri:
        """Parse a model URI; raise InvalidReference naming the accepted forms."""
        if text.startswith("models:/"):
            rest = text.removeprefix("models:/")
            if "@" in rest:
                name, _, alias = rest.partition("@")
                if name and alias and "/" not in name:
                    return cls("models", name, alias=alias)
            else:
                name, _, version = rest.partition("/")
                if name and version:
                    return cls("models", name, version=version)
        elif text.startswith("runs:/"):
            run_id, _, path = text.removeprefix("runs:/").partition("/")
            if run_id and path:
                return cls("runs", run_id, path=path)
        else:
            scheme, _, rest = text.partition(":/")
            name, _, path = rest.partition("/")
            if scheme.isalpha() and name:
                return cls(scheme, name, path=path or None)
        raise InvalidReference(
            f"cannot parse model URI {text!r}",
            hint="Use models:/NAME@ALIAS, models:/NAME/VERSION or runs:/RUN_ID/PATH.",
            value=text,
        )

    def __str__(self) -> str:
        if self.scheme not in ("models", "runs"):
            return f"{self.scheme}:/{self.name}" + ("" if self.path is None else f"/{self.path}")
        if self.scheme == "runs":
            return f"runs:/{self.name}/{self.path}"
        if self.alias is not None:
            return f"models:/{self.name}@{self.alias}"
        return f"models:/{self.name}/{self.version}"
