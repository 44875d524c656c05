"""The artifact store on a real S3 server (Ceph RGW on loopback), by URL and by settings."""

from __future__ import annotations

import io
import json
import os
import uuid
from pathlib import Path

import pytest
import s3fs

from loopml.artifacts import ArtifactStore
from loopml.errors import DigestMismatch, NotFound
from loopml.store.sql import SqlStore
from tests.fixtures.cli import Cli
from tests.fixtures.s3 import S3Endpoint


@pytest.fixture
def bucket(s3_endpoint: S3Endpoint) -> str:
    name = f"loopml-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(**s3_endpoint.storage_options()).mkdir(name)
    return name


def test_round_trip_dedup_and_tamper_on_s3(s3_endpoint: S3Endpoint, bucket: str) -> None:
    store = ArtifactStore(f"s3://{bucket}/artifacts", storage_options=s3_endpoint.storage_options())
    payload = os.urandom(9 << 20)  # several chunks: exercises the streamed upload
    digest = store.put(io.BytesIO(payload))
    assert store.put(payload) == digest
    assert list(store.iter_digests()) == [digest]
    assert store.exists(digest) and store.size(digest) == len(payload)
    assert store.get(digest) == payload
    with store.open(digest) as reader:
        assert b"".join(iter(lambda: reader.read(1 << 20), b"")) == payload

    fs = s3fs.S3FileSystem(**s3_endpoint.storage_options())
    key = f"{bucket}/artifacts/objects/{digest[:2]}/{digest[2:]}"
    fs.pipe(key, b"x" + payload[1:])
    with pytest.raises(DigestMismatch) as info:
        store.get(digest)
    assert digest in str(info.value) and "s3://" in str(info.value)

    with pytest.raises(NotFound):
        store.get("0" * 64)


def test_demo_stores_its_artifacts_on_s3_by_configuration(
    cli: Cli, s3_endpoint: S3Endpoint, bucket: str
) -> None:
    env = {"LOOPML_ARTIFACT_URL": f"s3://{bucket}/loopml", **s3_endpoint.env()}
    result = cli("demo", "--quick", "--json", env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    store = ArtifactStore(f"s3://{bucket}/loopml", storage_options=s3_endpoint.storage_options())
    stored = set(store.iter_digests())
    assert len(stored) > 5  # the data version, its profile, run artifacts, the model files
    with SqlStore(f"sqlite:///{Path('.loopml/loopml.db').resolve()}") as db:
        version = db.get_model_version("fraud", summary["model_version"])
    assert version.manifest_digest in stored
