"""RemoteArtifactStore: the local store's behaviour, through a real server process.

The store tests that do not reach into a local filesystem run unchanged against the remote
store (imported below; the module's ``store`` fixture replaces the local/memory one).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.artifacts import ArtifactStore, open_artifact_store
from loopml.artifacts._remote import RemoteArtifactStore
from loopml.config import Settings
from loopml.errors import DigestMismatch, InvalidInput, NotFound, StoreUnavailable
from tests.artifacts.test_store import (  # noqa: F401  (collected here against the remote store)
    test_delete_removes_the_object,
    test_malformed_digest_raises_invalid_reference,
    test_missing_digest_raises_not_found,
    test_prefixed_and_uppercase_digests_are_accepted,
    test_put_many_returns_digests_in_order,
    test_reader_streams_in_pieces_and_verifies_at_the_end,
    test_readline_and_iteration_work,
)
from tests.server.artifact_app import ArtifactServer, free_port, start_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArtifactServer]:
    started = start_server(tmp_path_factory.mktemp("remote") / "home")
    yield started
    stop_server(started.process)


@pytest.fixture
def local(server: ArtifactServer) -> ArtifactStore:
    """The server's own store, as the server sees it (to tamper with, or to check)."""
    return ArtifactStore(str(server.home / "artifacts"))


@pytest.fixture
def store(server: ArtifactServer, local: ArtifactStore) -> Iterator[RemoteArtifactStore]:
    """A client of the server, whose store starts empty."""
    local.delete_many(list(local.iter_digests()))
    client = RemoteArtifactStore(server.url, part_size=1 << 20, backoff_s=0.01)
    yield client
    client.close()


def test_chunked_put_lands_in_the_servers_store(
    store: RemoteArtifactStore, local: ArtifactStore, tmp_path: Path
) -> None:
    payload = os.urandom((3 << 20) + 123)  # four upload parts of 1 MiB
    source = tmp_path / "big.bin"
    source.write_bytes(payload)
    digest = store.put_file(source)
    assert local.get(digest) == payload
    assert store.get_file(digest, tmp_path / "back.bin").read_bytes() == payload
    assert store.materialize(digest, tmp_path / "m.bin") == "copy"
    assert store.stat(digest).size == len(payload) == store.size(digest)
    assert [o.digest for o in store.inventory()] == [digest] == list(store.iter_digests())
    assert store.cleanup_tmp() == 0
    assert list((local.url and Path(local.url).parent / "uploads").iterdir()) == []


def test_an_altered_object_is_refused_by_the_client(
    store: RemoteArtifactStore, local: ArtifactStore
) -> None:
    payload = os.urandom(3 << 20)
    digest = store.put(payload)
    path = Path(local._path(digest))
    path.write_bytes(payload[:-1] + bytes([payload[-1] ^ 1]))
    with pytest.raises(DigestMismatch):
        store.get(digest)
    with store.open(digest) as reader:
        assert reader.read(1000) == payload[:1000]
        with pytest.raises(DigestMismatch):
            reader.read()


def test_open_artifact_store_picks_the_server_when_loopml_server_url_is_set(
    server: ArtifactServer, settings: Settings
) -> None:
    picked = open_artifact_store(
        settings, environ={"LOOPML_SERVER_URL": server.url, "LOOPML_TOKEN": "t0ken"}
    )
    assert isinstance(picked, RemoteArtifactStore) and picked.url == server.url
    assert picked._http.headers["authorization"] == "Bearer t0ken"
    assert not isinstance(open_artifact_store(settings, environ={}), RemoteArtifactStore)
    with pytest.raises(InvalidInput):
        RemoteArtifactStore("127.0.0.1:5000")


def test_an_unreachable_server_is_retried_then_named() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = RemoteArtifactStore(url, retries=2, backoff_s=0.01)
    with pytest.raises(StoreUnavailable, match="cannot reach the loopml server") as caught:
        client.put(b"x")
    assert url in str(caught.value)


def test_keys_are_rotated_on_the_server_host_not_over_the_api(server: ArtifactServer) -> None:
    from loopml.artifacts._crypto import generate_key, parse_key

    with pytest.raises(InvalidInput, match="rotate-key"):
        RemoteArtifactStore(server.url).rotate_key(parse_key(generate_key(), where="t"))


def test_errors_come_back_as_the_same_classes(store: RemoteArtifactStore) -> None:
    with pytest.raises(NotFound) as caught:
        store.stat("0" * 64)
    assert caught.value.kind == "artifact"  # type: ignore[attr-defined]
