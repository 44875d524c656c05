"""Ids, digests, references and versions."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopml.errors import InvalidReference
from loopml.ids import ModelUri, ObjectRef, SemVer, check_digest, is_id, new_id, sha256_hex


def test_ids_are_unique_and_increasing() -> None:
    ids = [new_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids) and ids == sorted(ids)
    assert all(is_id(i) for i in ids)


@given(st.binary())
def test_digest_matches_hashlib(data: bytes) -> None:
    digest = sha256_hex(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert check_digest("sha256:" + digest.upper()) == digest


@pytest.mark.parametrize("bad", ["", "abc", "z" * 64, "a" * 65])
def test_bad_digest_is_rejected(bad: str) -> None:
    with pytest.raises(InvalidReference):
        check_digest(bad)


def test_object_ref_round_trip_and_errors() -> None:
    ref = ObjectRef.parse("model_version:42")
    assert (ref.kind, ref.id, str(ref)) == ("model_version", "42", "model_version:42")
    for bad in ("run", "Run:1", "spaceship:1", "run:", "run:a b"):
        with pytest.raises(InvalidReference):
            ObjectRef.parse(bad)


@given(st.integers(0, 999), st.integers(0, 999), st.integers(0, 999))
def test_semver_parse_bump_order(major: int, minor: int, patch: int) -> None:
    version = SemVer.parse(f"{major}.{minor}.{patch}")
    assert str(version) == f"{major}.{minor}.{patch}"
    assert version < version.bump("patch") < version.bump("minor") < version.bump("major")


def test_model_uris() -> None:
    assert ModelUri.parse("models:/fraud@champion").alias == "champion"
    assert ModelUri.parse("models:/fraud/3").version == "3"
    assert ModelUri.parse("runs:/abc/model").path == "model"
    for text in ("models:/fraud@champion", "models:/fraud/3", "runs:/abc/model"):
        assert str(ModelUri.parse(text)) == text
    with pytest.raises(InvalidReference) as info:
        ModelUri.parse("fraud@champion")
    assert "models:/NAME@ALIAS" in str(info.value)
