"""The production configuration: the server keeps artifacts on S3 (Ceph RGW), encrypted."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

import s3fs

from loopml.artifacts import ArtifactStore
from loopml.artifacts._crypto import HEADER_SIZE, generate_key, keyring_from_env
from loopml.artifacts._remote import RemoteArtifactStore
from tests.fixtures.s3 import S3Endpoint
from tests.server.artifact_app import ArtifactServer


def test_a_client_round_trips_through_a_server_that_stores_on_s3(
    s3_endpoint: S3Endpoint,
    artifact_server_factory: Callable[..., ArtifactServer],
    tmp_path: Path,
) -> None:
    bucket = f"loopml-srv-{uuid.uuid4().hex[:10]}"
    fs = s3fs.S3FileSystem(**s3_endpoint.storage_options())
    fs.mkdir(bucket)
    key = generate_key()
    env = {
        "LOOPML_ARTIFACT_URL": f"s3://{bucket}/loopml",
        "LOOPML_ENCRYPTION_KEY": key,
        **s3_endpoint.env(),
    }
    server = artifact_server_factory(env=env)
    client = RemoteArtifactStore(server.url, part_size=4 << 20)
    payload = os.urandom((9 << 20) + 7)  # three upload parts, several encrypted chunks
    source = tmp_path / "model.bin"
    source.write_bytes(payload)
    digest = client.put_file(source)
    assert client.put(payload) == digest  # dedup across the API
    assert client.get(digest) == payload
    assert client.size(digest) == len(payload)
    assert list(client.iter_digests()) == [digest]

    stored = fs.cat_file(f"{bucket}/loopml/objects/{digest[:2]}/{digest[2:]}")
    assert stored[:HEADER_SIZE].startswith(b"LMLAES1") and payload[:64] not in stored
    direct = ArtifactStore(
        f"s3://{bucket}/loopml",
        storage_options=s3_endpoint.storage_options(),
        encryption=keyring_from_env({"LOOPML_ENCRYPTION_KEY": key}),
    )
    assert direct.get(digest) == payload
    assert client.delete_many([digest]) == 1 and not client.exists(digest)
    client.close()
