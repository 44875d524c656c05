"""The model manifest: every file's sha256, the flavour, the signature, the requirements.

A model directory is trusted only through its manifest (``loopml-model.json``): loading
recomputes the digest of every listed file and refuses any mismatch, and a directory
without a manifest is refused as unsigned. The manifest's own sha256 is the model's
identity; the registry records it, so a rewritten manifest is caught as well.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from loopml.errors import DigestMismatch, InvalidInput, UnsignedModel
from loopml.models._signature import Signature

if TYPE_CHECKING:
    from loopml.artifacts import ArtifactStore

MANIFEST = "loopml-model.json"
FORMAT_VERSION = 1
_CHUNK = 4 << 20


def file_sha256(path: Path) -> str:
    """Stream a file through sha256."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileEntry:
    """One file of a model directory."""

    sha256: str
    size: int
    role: str = "model"  # "model" (the payload), "example" or "meta"


@dataclass(frozen=True)
class Manifest:
    """What a model directory holds, with the digest of every file.

    Args:
        flavor: Name of the flavour that saved it.
        model_class: Fully qualified class of the saved object.
        files: Relative POSIX path -> entry.
        options: Flavour options needed to load it.
        signature: Input/output schema, when known.
        input_example: Relative path of the stored input example.
        requirements: Pinned ``name==version`` lines of the saving environment.
        metadata: Free-form user metadata.
        created_at_ms: When it was saved.
    """

    flavor: str
    model_class: str
    files: dict[str, FileEntry]
    options: dict[str, Any] = field(default_factory=dict)
    signature: Signature | None = None
    input_example: str | None = None
    requirements: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at_ms: int = 0
    loopml_version: str = ""

    def to_json(self) -> bytes:
        """Canonical JSON bytes (sorted keys): equal manifests, equal digests."""
        body = {
            "format_version": FORMAT_VERSION,
            "flavor": self.flavor,
            "model_class": self.model_class,
            "options": self.options,
            "signature": None if self.signature is None else self.signature.to_dict(),
            "input_example": self.input_example,
            "requirements": list(self.requirements),
            "metadata": self.metadata,
            "created_at_ms": self.created_at_ms,
            "loopml_version": self.loopml_version,
            "files": {
                p: {"sha256": e.sha256, "size": e.size, "role": e.role}
                for p, e in sorted(self.files.items())
            },
        }
        return json.dumps(body, sort_keys=True, indent=1).encode()

    @property
    def payload_digest(self) -> str:
        """sha256 over the model files only: unchanged by metadata, examples or time."""
        digest = hashlib.sha256()
        for path, entry in sorted(self.files.items()):
            if entry.role == "model":
                digest.update(f"{path}\0{entry.sha256}\n".encode())
        return digest.hexdigest()

    @classmethod
    def from_json(cls, data: bytes, location: str) -> Manifest:
        """Parse manifest bytes; InvalidInput naming ``location`` when malformed."""
        try:
            body = json.loads(data)
            if body.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"unsupported format_version {body.get('format_version')!r}")
            files = {
                _safe_relpath(p, location): FileEntry(
                    str(e["sha256"]), int(e["size"]), str(e.get("role", "model"))
                )
                for p, e in body["files"].items()
            }
            signature = body.get("signature")
            return cls(
                flavor=str(body["flavor"]),
                model_class=str(body.get("model_class", "")),
                files=files,
                options=dict(body.get("options") or {}),
                signature=None if signature is None else Signature.from_dict(signature),
                input_example=body.get("input_example"),
                requirements=tuple(body.get("requirements") or ()),
                metadata=dict(body.get("metadata") or {}),
                created_at_ms=int(body.get("created_at_ms") or 0),
                loopml_version=str(body.get("loopml_version") or ""),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(
                f"malformed model manifest at {location}: {exc}",
                hint="The manifest was edited by hand or truncated; save the model again.",
            ) from exc


def _safe_relpath(path: str, location: str) -> str:
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise InvalidInput(
            f"model manifest at {location} lists an unsafe path {path!r}",
            hint="Manifest paths are relative and stay inside the model directory.",
        )
    return str(pure)


def digest_files(directory: Path, roles: dict[str, str]) -> dict[str, FileEntry]:
    """Hash every file under ``directory`` (except the manifest) into entries."""
    entries: dict[str, FileEntry] = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if path.is_file() and rel != MANIFEST:
            entries[rel] = FileEntry(
                file_sha256(path), path.stat().st_size, roles.get(rel, "model")
            )
    return entries


def read_manifest(directory: Path) -> tuple[Manifest, str]:
    """Read and verify a model directory: return its manifest and the manifest's sha256.

    Raises:
        UnsignedModel: There is no manifest.
        DigestMismatch: A listed file is missing or its bytes changed, or a file the
            manifest does not list was added.
        InvalidInput: The manifest is malformed.
    """
    if directory.is_file():
        raise UnsignedModel(str(directory))
    path = directory / MANIFEST
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise UnsignedModel(str(directory)) from exc
    manifest = Manifest.from_json(data, str(path))
    for rel, entry in manifest.files.items():
        target = directory / rel
        actual = file_sha256(target) if target.is_file() else "(missing)"
        if actual != entry.sha256:
            raise DigestMismatch(entry.sha256, actual, str(target))
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if path.is_file() and rel != MANIFEST and rel not in manifest.files:
            raise DigestMismatch("(not listed in the manifest)", file_sha256(path), str(path))
    return manifest, hashlib.sha256(data).hexdigest()


def verify_manifest_digest(directory: Path, expected: str) -> None:
    """Check the manifest's own sha256 against the one a registry recorded."""
    path = directory / MANIFEST
    if not path.is_file():
        raise UnsignedModel(str(directory))
    actual = file_sha256(path)
    if actual != expected:
        raise DigestMismatch(expected, actual, str(path))


def push_model(directory: str | os.PathLike[str], artifacts: ArtifactStore) -> str:
    """Store a verified model directory in the artifact store; return the manifest digest.

    Every file becomes one content-addressed object (equal files are stored once), and the
    manifest is stored last, so a model is visible only when all of its files are.

    Args:
        directory: A directory written by :func:`~loopml.models.save_model`.
        artifacts: The artifact store.

    Returns:
        The sha256 of the manifest: the model's identity.

    Raises:
        UnsignedModel: The directory has no manifest.
        DigestMismatch: A file changed since it was saved.
    """
    root = Path(directory)
    manifest, manifest_digest = read_manifest(root)
    artifacts.put_many([root / rel for rel in manifest.files])
    stored = artifacts.put_file(root / MANIFEST)
    if stored != manifest_digest:  # the manifest changed between the check and the copy
        raise DigestMismatch(manifest_digest, stored, str(root / MANIFEST))
    return manifest_digest


def pull_model(
    manifest_digest: str, artifacts: ArtifactStore, dest: str | os.PathLike[str]
) -> Path:
    """Materialise a stored model into ``dest`` (reused when already there and intact).

    Args:
        manifest_digest: The sha256 of the model's manifest.
        artifacts: The artifact store.
        dest: Directory to write (created; left complete or not at all).

    Returns:
        ``dest`` as a Path.

    Raises:
        NotFound: The manifest or a file is not in the artifact store.
        DigestMismatch: Stored bytes were altered.
    """
    target = Path(dest)
    if _intact(target, manifest_digest):
        return target
    data = artifacts.get(manifest_digest)
    manifest = Manifest.from_json(data, f"artifact {manifest_digest}")
    # One staging folder per caller: threads and processes may fill the same cache at once.
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    staging.mkdir(parents=True)
    try:
        for rel, entry in manifest.files.items():
            artifacts.get_file(entry.sha256, staging / rel)
        (staging / MANIFEST).write_bytes(data)
        try:
            os.replace(staging, target)
        except OSError:  # something is in the way: another caller's copy, or a damaged one
            if not _intact(target, manifest_digest):
                _remove(target)
                os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _intact(target: Path, manifest_digest: str) -> bool:
    if not (target / MANIFEST).is_file():
        return False
    try:
        verify_manifest_digest(target, manifest_digest)
        read_manifest(target)
    except DigestMismatch:
        return False  # a damaged cache is rebuilt from the store
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
