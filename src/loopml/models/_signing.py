"""Signed models following OpenSSF Model Signing (OMS v1.0), with the ``model-signing`` package.

A registered version is signed over its materialised model folder (``loopml-model.json``
plus every file it lists): ``model_signing`` hashes each file (sha256), and signs that
manifest with an elliptic-curve private key (P-256/384/521, PEM) into a detached Sigstore
bundle. The bundle and the signer's public key go into the artifact store; the version
records their digests in the tags :data:`SIGNATURE_TAG` and :data:`SIGNATURE_KEY_TAG`, so
the registry record pins both. Every load of a registered version (``load_model``,
serving, deploy) verifies the bundle against the folder before anything is deserialised:
with the key in :data:`TRUSTED_KEY_ENV` when set (then a bundle signed by another key is
refused), else with the key recorded at signing. ``LOOPML_REQUIRE_SIGNED=1`` refuses
unsigned versions. The bundle is the one the ``model_signing`` command line checks::

    model_signing verify key MODEL_DIR --signature model.sig --public_key key.pub

Keyless Sigstore signing needs Fulcio and Rekor on the network, which these machines cannot
reach; a key pair (or a certificate through ``model_signing`` itself) is what loopml uses.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput, MissingExtra, SignatureInvalid

if TYPE_CHECKING:
    from loopml.entities import ModelVersion
    from loopml.workspace import Workspace

#: Version tag: sha256 of the OMS signature bundle in the artifact store.
SIGNATURE_TAG = "loopml.signature"
#: Version tag: sha256 of the signer's public key (PEM) in the artifact store.
SIGNATURE_KEY_TAG = "loopml.signature.key"
#: Path of the PEM private key that signs every registration.
KEY_ENV = "LOOPML_SIGNING_KEY"
#: Password of that private key, if it is encrypted.
KEY_PASSWORD_ENV = "LOOPML_SIGNING_KEY_PASSWORD"
#: Path of the PEM public key every signed model must verify with.
TRUSTED_KEY_ENV = "LOOPML_SIGNING_PUBLIC_KEY"
#: "1": refuse to load a registered version that is not signed.
REQUIRE_ENV = "LOOPML_REQUIRE_SIGNED"
#: Name of the bundle beside an exported model folder (``model_signing``'s default).
BUNDLE_NAME = "model.sig"


@dataclass(frozen=True)
class SignatureCheck:
    """What verifying a version found.

    Attributes:
        signed: Whether the version has a signature.
        key_fingerprint: sha256 of the public key (PEM) it verified with.
        trusted_key: True when that key came from ``LOOPML_SIGNING_PUBLIC_KEY``.
        files: How many files the signature covers.
    """

    signed: bool
    key_fingerprint: str | None = None
    trusted_key: bool = False
    files: int = 0


def _model_signing() -> Any:
    try:
        import model_signing
        import model_signing.hashing
        import model_signing.signing
        import model_signing.verifying
    except ImportError as exc:
        raise MissingExtra("signing", "signed models (the model-signing package)") from exc
    return model_signing


def _hashing(ms: Any) -> Any:
    return ms.hashing.Config().use_file_serialization(hashing_algorithm="sha256")


def generate_signing_key(
    private_path: str | os.PathLike[str],
    public_path: str | os.PathLike[str],
    *,
    password: str | None = None,
) -> tuple[Path, Path]:
    """Write a new P-256 key pair as PEM files (the private one readable by its owner only).

    Args:
        private_path: Where the private key goes (must not exist).
        public_path: Where the public key goes.
        password: Encrypt the private key with this password.

    Returns:
        The two paths.

    Raises:
        InvalidInput: The private key file exists already.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private, public = Path(private_path), Path(public_path)
    if private.exists():
        raise InvalidInput(
            f"{private} exists already; refusing to overwrite a private key",
            hint="Choose another path, or remove the old key on purpose first.",
        )
    key = ec.generate_private_key(ec.SECP256R1())
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    private.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public.parent.mkdir(parents=True, exist_ok=True)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def public_key_pem(private_key: str | os.PathLike[str], password: str | None = None) -> bytes:
    """The PEM public key of a PEM private key file."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(
            Path(private_key).read_bytes(), password.encode() if password else None
        )
    except (OSError, ValueError, TypeError) as exc:
        raise InvalidInput(
            f"cannot read the signing key {private_key}: {exc}",
            hint=f"Pass a PEM elliptic-curve private key (see `loopml models keygen`); set "
            f"{KEY_PASSWORD_ENV} if it is encrypted.",
        ) from None
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sign_directory(
    directory: str | os.PathLike[str],
    private_key: str | os.PathLike[str],
    *,
    password: str | None = None,
) -> bytes:
    """Sign every file of a model folder; return the OMS bundle (JSON bytes).

    Raises:
        InvalidInput: The key cannot be read.
    """
    ms = _model_signing()
    public_key_pem(private_key, password)  # a clear error for a wrong key or password
    with tempfile.TemporaryDirectory(prefix="loopml-sign-") as tmp:
        bundle = Path(tmp) / BUNDLE_NAME
        config = ms.signing.Config().use_elliptic_key_signer(
            private_key=Path(private_key), password=password
        )
        config.set_hashing_config(_hashing(ms)).sign(Path(directory), bundle)
        return bundle.read_bytes()


def verify_directory(
    directory: str | os.PathLike[str], bundle: bytes, public_key: bytes, *, what: str = ""
) -> int:
    """Check a model folder against an OMS bundle and a PEM public key; return the file count.

    Raises:
        SignatureInvalid: The bundle is not signed by the key, or a file was added,
            removed or changed since signing (the message names them).
    """
    ms = _model_signing()
    location = what or str(directory)
    with tempfile.TemporaryDirectory(prefix="loopml-verify-") as tmp:
        bundle_path, key_path = Path(tmp) / BUNDLE_NAME, Path(tmp) / "key.pub"
        bundle_path.write_bytes(bundle)
        key_path.write_bytes(public_key)
        try:
            config = ms.verifying.Config().use_elliptic_key_verifier(public_key=key_path)
            config.set_hashing_config(_hashing(ms)).verify(Path(directory), bundle_path)
        except Exception as exc:  # model_signing raises ValueError and crypto errors alike
            raise SignatureInvalid(location, f"{type(exc).__name__}: {exc}") from None
    return sum(1 for p in Path(directory).rglob("*") if p.is_file())


def _env_key() -> tuple[str | None, str | None]:
    return os.environ.get(KEY_ENV) or None, os.environ.get(KEY_PASSWORD_ENV) or None


def signing_key_configured() -> bool:
    """Whether ``LOOPML_SIGNING_KEY`` names a key, so registrations are signed."""
    return _env_key()[0] is not None


def sign_version(
    version: ModelVersion,
    directory: str | os.PathLike[str],
    workspace: Workspace,
    *,
    private_key: str | os.PathLike[str] | None = None,
    password: str | None = None,
    actor: str | None = None,
) -> ModelVersion:
    """Sign a registered version's materialised folder and record the bundle on the version.

    Args:
        version: The version.
        directory: Its folder, as :func:`~loopml.models.pull_model` writes it.
        workspace: Where the bundle and the public key are stored.
        private_key: PEM private key (default: ``LOOPML_SIGNING_KEY``).
        password: Its password (default: ``LOOPML_SIGNING_KEY_PASSWORD``).
        actor: Who signs (default: the workspace's actor).

    Returns:
        The version with :data:`SIGNATURE_TAG` and :data:`SIGNATURE_KEY_TAG` set.

    Raises:
        InvalidInput: No key is given or configured, or it cannot be read.
    """
    env_key, env_password = _env_key()
    key = private_key or env_key
    if key is None:
        raise InvalidInput(
            "no signing key: pass one or set LOOPML_SIGNING_KEY",
            hint="Make a key pair with `loopml models keygen KEY.pem KEY.pub`.",
        )
    password = password if password is not None else env_password
    bundle = sign_directory(directory, key, password=password)
    public = public_key_pem(key, password)
    tags = {
        SIGNATURE_TAG: workspace.artifacts.put(bundle),
        SIGNATURE_KEY_TAG: workspace.artifacts.put(public),
    }
    return workspace.store.update_model_version(
        version.model_name,
        version.number,
        actor=actor or workspace.actor.name,
        tags=tags,
    )


def verify_version(
    version: ModelVersion,
    directory: str | os.PathLike[str],
    workspace: Workspace,
    *,
    public_key: str | os.PathLike[str] | None = None,
) -> SignatureCheck:
    """Verify a registered version's folder against the signature recorded at signing.

    The public key is ``public_key``, else ``LOOPML_SIGNING_PUBLIC_KEY``, else the key
    recorded when the version was signed.

    Raises:
        SignatureInvalid: The signature does not verify, or the version is unsigned while
            a trusted key or ``LOOPML_REQUIRE_SIGNED=1`` demands a signature.
        DigestMismatch: The stored bundle or key was altered.
    """
    what = f"models:/{version.model_name}/{version.number}"
    bundle_digest = version.tags.get(SIGNATURE_TAG)
    trusted = public_key or os.environ.get(TRUSTED_KEY_ENV) or None
    if bundle_digest is None:
        if trusted is not None or os.environ.get(REQUIRE_ENV) == "1":
            raise SignatureInvalid(
                what,
                "the version is not signed",
                hint="Sign it with `loopml models sign NAME/VERSION --key KEY.pem`.",
            )
        return SignatureCheck(signed=False)
    bundle = workspace.artifacts.get(bundle_digest)
    if trusted is not None:
        try:
            key = Path(trusted).read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read the public key {trusted}: {exc}") from None
    else:
        key = workspace.artifacts.get(version.tags[SIGNATURE_KEY_TAG])
    files = verify_directory(directory, bundle, key, what=what)
    return SignatureCheck(
        signed=True,
        key_fingerprint=hashlib.sha256(key).hexdigest(),
        trusted_key=trusted is not None,
        files=files,
    )


def verify_registered(version: ModelVersion, workspace: Workspace) -> SignatureCheck:
    """Verify a registered version's signature from the registry's copy (deploys call it).

    An unsigned version is not materialised unless a signature is required.

    Raises:
        SignatureInvalid: As :func:`verify_version`.
    """
    from loopml.models._manifest import pull_model

    required = os.environ.get(TRUSTED_KEY_ENV) or os.environ.get(REQUIRE_ENV) == "1"
    if SIGNATURE_TAG not in version.tags and not required:
        return SignatureCheck(signed=False)
    folder = pull_model(
        version.manifest_digest,
        workspace.artifacts,
        workspace.cache_dir / "models" / version.manifest_digest,
    )
    return verify_version(version, folder, workspace)


def export_signed(
    version: ModelVersion, directory: str | os.PathLike[str], workspace: Workspace, out: Path
) -> tuple[Path, Path, Path]:
    """Copy a signed version's folder, bundle and public key under ``out`` for other tools.

    Returns:
        ``out/model``, ``out/model.sig`` and ``out/key.pub``.
    """
    import shutil

    if SIGNATURE_TAG not in version.tags:
        raise SignatureInvalid(
            f"models:/{version.model_name}/{version.number}", "the version is not signed"
        )
    out.mkdir(parents=True, exist_ok=True)
    model = out / "model"
    shutil.copytree(directory, model)
    bundle = out / BUNDLE_NAME
    bundle.write_bytes(workspace.artifacts.get(version.tags[SIGNATURE_TAG]))
    key = out / "key.pub"
    key.write_bytes(workspace.artifacts.get(version.tags[SIGNATURE_KEY_TAG]))
    return model, bundle, key
