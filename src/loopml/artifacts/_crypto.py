"""Encryption at rest for stored objects: chunked AES-256-GCM under per-object data keys.

Layout of an encrypted object (the object is still named by the sha256 of its *plaintext*,
so content addressing and deduplication keep working, and reads verify that digest after
decrypting)::

    header (72 bytes)
        magic        8   b"LMLAES1\\0"
        chunk size   4   plaintext bytes per chunk (big-endian)
        key id       8   fingerprint of the master key that wrapped the data key
        wrapped key 40   the object's random 256-bit data key, AES key wrap (RFC 3394)
        nonce prefix 8   random, per object
        reserved     4   zero
    chunk 0 .. n-1      AES-GCM(data key, nonce = prefix + chunk index) of each chunk,
                        16-byte tag appended; the associated data binds the chunk index
                        and whether it is the last one, so chunks cannot be reordered,
                        dropped or the object truncated unnoticed.

Every chunk is at most ``chunk size`` bytes of plaintext, so objects of any size stream in
constant memory. Rotating the master key re-wraps the 40-byte data key in the header; the
chunks are not re-encrypted. Key material never appears in a message, a ``repr`` or a log:
keys are named by their id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import DecryptionFailed, EncryptionKeyError

if TYPE_CHECKING:
    from collections.abc import Mapping

MAGIC = b"LMLAES1\0"
HEADER_SIZE = 72
TAG_SIZE = 16
#: Plaintext bytes per encrypted chunk.
ENCRYPTED_CHUNK = 1 << 20
KEY_ENV = "LOOPML_ENCRYPTION_KEY"
KEY_FILE_ENV = "LOOPML_ENCRYPTION_KEY_FILE"
_HEADER = struct.Struct(">8sI8s40s8s4x")


@dataclass(frozen=True)
class MasterKey:
    """A 256-bit master key; it only wraps and unwraps per-object data keys.

    Its ``repr`` and ``str`` show the key id (a fingerprint), never the key.
    """

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) != 32:
            raise EncryptionKeyError(
                f"an encryption master key must be 32 bytes, got {len(self.secret)}",
                hint="Create one with `loopml artifacts generate-key`.",
            )

    @property
    def key_id(self) -> str:
        """16 hex characters identifying the key (a hash of it; it reveals nothing)."""
        return hashlib.sha256(b"loopml-key-id\0" + self.secret).digest()[:8].hex()

    def __str__(self) -> str:
        return f"MasterKey(key_id={self.key_id})"

    __repr__ = __str__


@dataclass(frozen=True)
class Keyring:
    """The current master key (new objects) and earlier ones still accepted for reading."""

    current: MasterKey
    previous: tuple[MasterKey, ...] = ()

    def find(self, key_id: str) -> MasterKey | None:
        """The key with this id, or None."""
        for key in (self.current, *self.previous):
            if key.key_id == key_id:
                return key
        return None

    @property
    def key_ids(self) -> list[str]:
        """The ids of every key, the current one first."""
        return [key.key_id for key in (self.current, *self.previous)]


def generate_key() -> str:
    """Return a fresh random master key, base64-encoded (what the key file or variable holds)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def parse_key(text: str, *, where: str) -> MasterKey:
    """Read a master key written as base64 (44 characters) or hex (64 characters).

    Raises:
        EncryptionKeyError: The text is neither (the message names ``where``, not the text).
    """
    value = text.strip()
    raw: bytes | None = None
    if len(value) == 64:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = None
    if raw is None:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != 32:
        raise EncryptionKeyError(
            f"the encryption key in {where} is not a 32-byte key in base64 or hex",
            hint="Create one with `loopml artifacts generate-key`.",
            where=where,
        )
    return MasterKey(raw)


def read_key_file(path: str | os.PathLike[str]) -> list[MasterKey]:
    """The keys in a key file, one per line (blank lines and ``#`` comments skipped).

    The first key is the current one; later ones are earlier keys kept for reading.

    Raises:
        EncryptionKeyError: The file cannot be read or holds no valid key.
    """
    where = os.fspath(path)
    try:
        lines = Path(path).read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EncryptionKeyError(
            f"cannot read the encryption key file {where}: {type(exc).__name__}",
            hint=f"Point {KEY_FILE_ENV} at a readable file with one base64 key per line.",
            where=where,
        ) from exc
    keys = [
        parse_key(line, where=f"{where} line {number}")
        for number, line in enumerate(lines, 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not keys:
        raise EncryptionKeyError(
            f"the encryption key file {where} holds no key",
            hint="Write one base64 key per line; create one with `loopml artifacts generate-key`.",
            where=where,
        )
    return keys


def keyring_from_env(environ: Mapping[str, str] | None = None) -> Keyring | None:
    """The keyring that ``LOOPML_ENCRYPTION_KEY_FILE`` or ``LOOPML_ENCRYPTION_KEY`` names.

    With both set, the file's keys come first (its first key is current) and the variable's
    key is also accepted for reading. With neither, encryption is off (None).

    Raises:
        EncryptionKeyError: A key is malformed or the file unreadable.
    """
    env = os.environ if environ is None else environ
    keys: list[MasterKey] = []
    if env.get(KEY_FILE_ENV):
        keys.extend(read_key_file(env[KEY_FILE_ENV]))
    if env.get(KEY_ENV):
        keys.append(parse_key(env[KEY_ENV], where=KEY_ENV))
    if not keys:
        return None
    unique = list({key.key_id: key for key in reversed(keys)}.values())[::-1]
    return Keyring(unique[0], tuple(unique[1:]))


# -- object format -------------------------------------------------------------------------


def encrypted_size(plain_size: int, chunk: int = ENCRYPTED_CHUNK) -> int:
    """Bytes an object of ``plain_size`` bytes takes once encrypted."""
    chunks = max(1, -(-plain_size // chunk))
    return HEADER_SIZE + plain_size + TAG_SIZE * chunks


def plain_size(stored_size: int, chunk: int = ENCRYPTED_CHUNK) -> int:
    """The plaintext size of an encrypted object of ``stored_size`` bytes."""
    body = stored_size - HEADER_SIZE
    chunks = max(1, -(-body // (chunk + TAG_SIZE)))
    return max(0, body - TAG_SIZE * chunks)


@dataclass(frozen=True)
class Header:
    """The parsed header of an encrypted object."""

    chunk_size: int
    key_id: str
    wrapped: bytes
    nonce_prefix: bytes

    def pack(self) -> bytes:
        """The 72 header bytes."""
        return _HEADER.pack(
            MAGIC, self.chunk_size, bytes.fromhex(self.key_id), self.wrapped, self.nonce_prefix
        )


def parse_header(raw: bytes) -> Header | None:
    """The header at the start of ``raw``, or None when the object is not encrypted."""
    if len(raw) < HEADER_SIZE or not raw.startswith(MAGIC):
        return None
    _, chunk, key_id, wrapped, prefix = _HEADER.unpack(raw[:HEADER_SIZE])
    return Header(int(chunk), key_id.hex(), wrapped, prefix)


def _aes_wrap(key: MasterKey, data_key: bytes) -> bytes:
    from cryptography.hazmat.primitives.keywrap import aes_key_wrap

    return aes_key_wrap(key.secret, data_key)


def unwrap(header: Header, keyring: Keyring, digest: str, location: str) -> bytes:
    """The data key of an object, unwrapped by the keyring's key with the header's id.

    Raises:
        EncryptionKeyError: No key of the keyring has the id the object was wrapped with.
        DecryptionFailed: The key matches but the wrapped key fails its integrity check.
    """
    from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

    key = keyring.find(header.key_id)
    if key is None:
        raise EncryptionKeyError(
            f"object {digest} at {location} is encrypted with master key {header.key_id}, "
            f"which is not among the configured keys ({', '.join(keyring.key_ids)})",
            hint=f"Set {KEY_FILE_ENV} (or {KEY_ENV}) to the key with that id; after a "
            "rotation, keep the old key on a later line of the key file until "
            "`loopml artifacts rotate-key` has finished.",
            digest=digest,
            key_id=header.key_id,
        )
    try:
        return aes_key_unwrap(key.secret, header.wrapped)
    except InvalidUnwrap as exc:
        raise DecryptionFailed(digest, location, "the wrapped data key in the header") from exc


def rewrap(header: Header, keyring: Keyring, new: MasterKey, digest: str, location: str) -> Header:
    """The same header with its data key wrapped by ``new`` instead."""
    data_key = unwrap(header, keyring, digest, location)
    return Header(header.chunk_size, new.key_id, _aes_wrap(new, data_key), header.nonce_prefix)


def _aad(index: int, last: bool) -> bytes:
    return b"loopml-chunk" + struct.pack(">QB", index, int(last))


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


class EncryptingWriter:
    """A write-only stream that encrypts what it is given into ``raw``, chunk by chunk.

    It holds at most one chunk of plaintext. :meth:`finish` writes the last chunk; it does
    not close ``raw``.
    """

    def __init__(self, raw: Any, key: MasterKey, chunk: int = ENCRYPTED_CHUNK) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        data_key = secrets.token_bytes(32)
        self._aead = AESGCM(data_key)
        self._raw = raw
        self._chunk = chunk
        self._prefix = secrets.token_bytes(8)
        self._pending = bytearray()
        self._index = 0
        header = Header(chunk, key.key_id, _aes_wrap(key, data_key), self._prefix)
        raw.write(header.pack())

    def write(self, data: Any) -> int:
        """Buffer ``data``; encrypt and write every chunk known not to be the last."""
        view = memoryview(data).cast("B")
        total = view.nbytes
        while view.nbytes:
            if len(self._pending) == self._chunk:  # full, and more follows: not the last
                self._emit(bytes(self._pending), last=False)
                self._pending = bytearray()
            take = min(self._chunk - len(self._pending), view.nbytes)
            self._pending += view[:take]
            view = view[take:]
        return total

    def finish(self) -> None:
        """Encrypt and write the last chunk (possibly empty)."""
        self._emit(bytes(self._pending), last=True)
        self._pending = bytearray()

    def _emit(self, plain: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(
            _nonce(self._prefix, self._index), plain, _aad(self._index, last)
        )
        self._raw.write(sealed)
        self._index += 1


class DecryptingReader:
    """A read-only stream of an encrypted object's plaintext, authenticated chunk by chunk.

    ``size`` is the plaintext size. A chunk that fails its tag raises DecryptionFailed
    before any of its bytes are returned.
    """

    def __init__(
        self,
        raw: Any,
        header: Header,
        keyring: Keyring,
        stored_size: int,
        digest: str,
        location: str,
    ) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(unwrap(header, keyring, digest, location))
        self._raw = raw
        self._header = header
        self._digest = digest
        self._location = location
        self.size = plain_size(stored_size, header.chunk_size)
        self._chunks = max(1, -(-self.size // header.chunk_size))
        self._index = 0
        self._buffer = b""
        self._offset = 0

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` with plaintext; return the count (0 at the end)."""
        view = memoryview(buffer).cast("B")
        if self._offset >= len(self._buffer) and not self._next_chunk():
            return 0
        count = min(view.nbytes, len(self._buffer) - self._offset)
        view[:count] = memoryview(self._buffer)[self._offset : self._offset + count]
        self._offset += count
        return count

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` plaintext bytes (all the rest when negative)."""
        if size is None or size < 0:
            parts = []
            while chunk := self.read(1 << 20):
                parts.append(chunk)
            return b"".join(parts)
        out = bytearray(size)
        count = self.readinto(out)
        return bytes(out[:count])

    def close(self) -> None:
        """Close the underlying stream."""
        self._raw.close()

    def _next_chunk(self) -> bool:
        if self._index >= self._chunks:
            return False
        last = self._index == self._chunks - 1
        want = (
            self.size - self._index * self._header.chunk_size if last else self._header.chunk_size
        ) + TAG_SIZE
        sealed = _read_exactly(self._raw, want)
        if len(sealed) != want:
            raise DecryptionFailed(
                self._digest, self._location, f"chunk {self._index} is cut short"
            )
        from cryptography.exceptions import InvalidTag

        try:
            self._buffer = self._aead.decrypt(
                _nonce(self._header.nonce_prefix, self._index), sealed, _aad(self._index, last)
            )
        except InvalidTag as exc:
            raise DecryptionFailed(self._digest, self._location, f"chunk {self._index}") from exc
        self._offset = 0
        self._index += 1
        return True


def _read_exactly(raw: Any, size: int) -> bytes:
    parts: list[bytes] = []
    left = size
    while left:
        data = raw.read(left)
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)
