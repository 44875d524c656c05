"""Encryption at rest: round trips, dedup by plaintext digest, rotation, tampering, secret keys."""

from __future__ import annotations

import io
import logging
import os
import uuid
from pathlib import Path

import pytest
import s3fs

from loopml.artifacts import ArtifactStore, open_artifact_store
from loopml.artifacts._crypto import (
    ENCRYPTED_CHUNK,
    HEADER_SIZE,
    Keyring,
    encrypted_size,
    generate_key,
    keyring_from_env,
    parse_key,
    plain_size,
)
from loopml.config import Settings
from loopml.errors import DecryptionFailed, DigestMismatch, EncryptionKeyError
from loopml.ids import sha256_hex
from tests.fixtures.s3 import S3Endpoint

from .conftest import BACKENDS, make_store, object_path

SIZES = [0, 1, ENCRYPTED_CHUNK - 1, ENCRYPTED_CHUNK, ENCRYPTED_CHUNK + 1, 3 * ENCRYPTED_CHUNK + 17]


def _keyring() -> Keyring:
    return Keyring(parse_key(generate_key(), where="test"))


@pytest.fixture(params=BACKENDS)
def encrypted(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    store, _ = make_store(request.param, tmp_path, encryption=_keyring())
    return store


def test_round_trip_keeps_the_plaintext_digest_and_hides_the_bytes(
    encrypted: ArtifactStore, tmp_path: Path
) -> None:
    for size in SIZES:
        payload = os.urandom(size)
        digest = encrypted.put(payload)
        assert digest == sha256_hex(payload)
        assert encrypted.put(io.BytesIO(payload)) == digest  # dedup by plaintext digest
        assert encrypted.get(digest) == payload
        assert encrypted.size(digest) == size == encrypted.stat(digest).size
        stored = encrypted._fs.cat_file(object_path(encrypted, digest))
        assert len(stored) == encrypted_size(size) and plain_size(len(stored)) == size
        if size >= 32:
            assert payload[:32] not in stored
    source = tmp_path / "file.bin"
    source.write_bytes(os.urandom(2 * ENCRYPTED_CHUNK + 5))
    digest = encrypted.put_file(source)
    assert encrypted.materialize(digest, tmp_path / "out.bin") == "copy"  # never a raw link
    assert (tmp_path / "out.bin").read_bytes() == source.read_bytes()
    assert encrypted.put_many([source] * 20) == [digest] * 20
    assert len(list(encrypted.iter_digests())) == len(SIZES) + 1


def test_a_flipped_byte_anywhere_is_refused(encrypted: ArtifactStore) -> None:
    payload = os.urandom(2 * ENCRYPTED_CHUNK + 100)
    digest = encrypted.put(payload)
    path = object_path(encrypted, digest)
    original = encrypted._fs.cat_file(path)
    for index in (20, HEADER_SIZE + 5, HEADER_SIZE + ENCRYPTED_CHUNK + 40, len(original) - 1):
        altered = bytearray(original)
        altered[index] ^= 0x01
        encrypted._fs.pipe_file(path, bytes(altered))
        with pytest.raises(DigestMismatch) as caught:  # DecryptionFailed is one
            encrypted.get(digest)
        assert isinstance(caught.value, DecryptionFailed) and digest in str(caught.value)
    encrypted._fs.pipe_file(path, original[: len(original) - 300])  # truncated
    with pytest.raises(DecryptionFailed, match="truncated"):
        encrypted.get(digest)
    encrypted._fs.pipe_file(path, original)
    assert encrypted.get(digest) == payload


def test_the_wrong_key_gives_a_clear_error_that_names_key_ids_only(tmp_path: Path) -> None:
    right, wrong = _keyring(), _keyring()
    url = str(tmp_path / "store")
    digest = ArtifactStore(url, encryption=right).put(b"secret model bytes")
    with pytest.raises(EncryptionKeyError) as caught:
        ArtifactStore(url, encryption=wrong).get(digest)
    message = str(caught.value)
    assert right.current.key_id in message and wrong.current.key_id in message
    for key in (right.current, wrong.current):
        assert key.secret.hex() not in message and key.secret not in message.encode()
    with pytest.raises(DigestMismatch):  # without a key the ciphertext does not verify
        ArtifactStore(url).get(digest)


def test_rotation_rewraps_headers_without_touching_the_chunks(encrypted: ArtifactStore) -> None:
    old = encrypted.encryption
    assert old is not None
    payloads = [os.urandom(size) for size in SIZES]
    digests = [encrypted.put(p) for p in payloads]
    before = {d: encrypted._fs.cat_file(object_path(encrypted, d)) for d in digests}
    new = parse_key(generate_key(), where="test")
    assert encrypted.rotate_key(new) == {
        "rewrapped": len(set(digests)),
        "already": 0,
        "plaintext": 0,
    }
    assert encrypted.rotate_key(new)["already"] == len(set(digests))  # resumable, idempotent
    for digest, payload in zip(digests, payloads, strict=True):
        after = encrypted._fs.cat_file(object_path(encrypted, digest))
        assert after[HEADER_SIZE:] == before[digest][HEADER_SIZE:]  # data not re-encrypted
        assert after[:HEADER_SIZE] != before[digest][:HEADER_SIZE]
        reopened = ArtifactStore(encrypted.url, encryption=Keyring(new))  # new key alone
        assert reopened.get(digest) == payload
        with pytest.raises(EncryptionKeyError):
            ArtifactStore(encrypted.url, encryption=old).get(digest)


def test_plaintext_objects_stay_readable_when_encryption_is_turned_on(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    digest = ArtifactStore(url).put(b"written before encryption")
    store = ArtifactStore(url, encryption=_keyring())
    assert store.get(digest) == b"written before encryption"
    assert store.size(digest) == len(b"written before encryption")
    assert store.rotate_key(parse_key(generate_key(), where="t"))["plaintext"] == 1


def test_keys_come_from_a_key_file_or_the_environment(
    tmp_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    current, previous = generate_key(), generate_key()
    key_file = tmp_path / "keys"
    key_file.write_text(f"# loopml master keys, current first\n{current}\n\n{previous}\n")
    ring = keyring_from_env({"LOOPML_ENCRYPTION_KEY_FILE": str(key_file)})
    assert ring is not None and len(ring.previous) == 1
    assert ring.current == parse_key(current, where="x")
    assert keyring_from_env({}) is None
    hex_key = bytes(range(32)).hex()
    env = {"LOOPML_ENCRYPTION_KEY": hex_key}
    store = open_artifact_store(settings, environ=env)
    assert store.encryption is not None
    assert store.encryption.current.secret == bytes(range(32))
    assert hex_key not in repr(store.encryption) and hex_key not in str(store.encryption)
    bad = "not-a-key-" + current[:20]
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(EncryptionKeyError) as caught:
            open_artifact_store(settings, environ={"LOOPML_ENCRYPTION_KEY": bad})
        with pytest.raises(EncryptionKeyError):
            keyring_from_env({"LOOPML_ENCRYPTION_KEY_FILE": str(tmp_path / "missing")})
    assert "LOOPML_ENCRYPTION_KEY" in str(caught.value)
    for text in (str(caught.value), repr(caught.value), caplog.text):
        assert bad not in text and current[:20] not in text


def test_round_trip_rotation_and_tamper_on_s3(s3_endpoint: S3Endpoint) -> None:
    bucket = f"loopml-enc-{uuid.uuid4().hex[:10]}"
    fs = s3fs.S3FileSystem(**s3_endpoint.storage_options())
    fs.mkdir(bucket)
    url = f"s3://{bucket}/artifacts"
    store = ArtifactStore(url, storage_options=s3_endpoint.storage_options(), encryption=_keyring())
    payload = os.urandom(5 * ENCRYPTED_CHUNK + 3)
    digest = store.put(io.BytesIO(payload))
    assert store.get(digest) == payload and store.size(digest) == len(payload)
    key = f"{bucket}/artifacts/objects/{digest[:2]}/{digest[2:]}"
    stored = fs.cat_file(key)
    assert payload[:64] not in stored
    new = parse_key(generate_key(), where="t")
    assert store.rotate_key(new)["rewrapped"] == 1
    rotated = fs.cat_file(key)
    assert rotated[HEADER_SIZE:] == stored[HEADER_SIZE:]
    reopened = ArtifactStore(
        url, storage_options=s3_endpoint.storage_options(), encryption=Keyring(new)
    )
    assert reopened.get(digest) == payload
    fs.pipe(key, rotated[:-1] + bytes([rotated[-1] ^ 1]))
    with pytest.raises(DecryptionFailed):
        reopened.get(digest)
