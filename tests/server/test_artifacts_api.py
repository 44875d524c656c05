"""The artifact endpoints over real HTTP: resumable uploads, Range downloads, JSON errors.

A small TCP proxy on loopback cuts connections after a number of bytes, so the client's
resumes are exercised against real dropped connections.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import Request

from loopml.artifacts import ArtifactStore
from loopml.artifacts._remote import RemoteArtifactStore
from loopml.errors import PermissionDenied, Unauthenticated
from loopml.workspace import Workspace
from tests.server.artifact_app import ArtifactServer, free_port, make_app

API = "/api/v1/artifacts"


class CuttingProxy:
    """Forwards loopback TCP to ``port``; the first ``cuts`` connections are cut after
    ``after`` bytes (counted in the direction ``direction``: "up" or "down")."""

    def __init__(self, port: int, *, after: int, cuts: int, direction: str) -> None:
        self.target = port
        self.after = after
        self.cuts = cuts
        self.direction = direction
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            cut = self.connections <= self.cuts
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for source, sink, way in ((client, upstream, "up"), (upstream, client, "down")):
                limit = self.after if cut and way == self.direction else None
                threading.Thread(
                    target=self._pipe, args=(source, sink, limit, (client, upstream)), daemon=True
                ).start()

    @staticmethod
    def _pipe(
        source: socket.socket,
        sink: socket.socket,
        limit: int | None,
        both: tuple[socket.socket, ...],
    ) -> None:
        sent = 0
        try:
            while data := source.recv(1 << 16):
                if limit is not None and sent + len(data) > limit:
                    sink.sendall(data[: limit - sent])
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for sock in both:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()


@pytest.fixture
def proxies(artifact_server: ArtifactServer) -> Iterator[list[CuttingProxy]]:
    made: list[CuttingProxy] = []
    yield made
    for proxy in made:
        proxy.close()


def _port(server: ArtifactServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def test_an_interrupted_upload_resumes_from_the_offset(artifact_server: ArtifactServer) -> None:
    payload = os.urandom(5 << 20)
    with httpx.Client(base_url=artifact_server.url + API, timeout=30) as http:
        upload = http.post("/uploads").json()["upload_id"]

        def dies_midway() -> Iterator[bytes]:
            yield payload[: 2 << 20]
            raise ConnectionAbortedError("the client went away")

        with pytest.raises(Exception, match="went away"):
            http.put(f"/uploads/{upload}", params={"offset": 0}, content=dies_midway())
        received = 0
        for _ in range(50):  # the server may still be writing what arrived
            received = http.get(f"/uploads/{upload}").json()["offset"]
            if received == 2 << 20:
                break
        assert received == 2 << 20  # kept: what arrived before the cut

        wrong = http.put(f"/uploads/{upload}", params={"offset": 0}, content=b"again")
        assert wrong.status_code == 409
        assert wrong.json()["offset"] == received
        assert wrong.json()["error"] == "Conflict"

        rest = http.put(
            f"/uploads/{upload}", params={"offset": received}, content=payload[received:]
        )
        assert rest.json()["offset"] == len(payload)
        claimed = hashlib.sha256(payload).hexdigest()
        done = http.post(f"/uploads/{upload}/complete", json={"sha256": claimed})
        assert done.status_code == 201 and done.json() == {"digest": claimed, "size": len(payload)}
        again = http.post(f"/uploads/{upload}/complete", json={"sha256": claimed})
        assert again.json()["digest"] == claimed  # a retried completion gets the same answer
        assert http.get(f"/uploads/{upload}").status_code == 404
    store = ArtifactStore(str(artifact_server.home / "artifacts"))
    assert store.get(claimed) == payload


def test_bytes_that_do_not_match_the_announced_digest_are_refused(
    artifact_server: ArtifactServer,
) -> None:
    with httpx.Client(base_url=artifact_server.url + API, timeout=30) as http:
        upload = http.post("/uploads").json()["upload_id"]
        http.put(f"/uploads/{upload}", params={"offset": 0}, content=b"the real bytes")
        answer = http.post(f"/uploads/{upload}/complete", json={"sha256": "ab" * 32})
        assert answer.status_code == 409
        assert answer.json()["error"] == "DigestMismatch"
        bad = http.post(f"/uploads/{upload}/complete", json={"sha256": "nope"})
        assert bad.status_code in (400, 404) and "error" in bad.json()
        assert http.put("/uploads/" + "0" * 32, params={"offset": 0}).status_code == 404
        assert http.get("/uploads/../../etc").status_code == 404
        abandoned = http.post("/uploads").json()["upload_id"]
        assert http.delete(f"/uploads/{abandoned}").status_code == 204
        assert http.get(f"/uploads/{abandoned}").status_code == 404


def test_downloads_answer_ranges(artifact_server: ArtifactServer) -> None:
    payload = os.urandom(3_000_000)
    with httpx.Client(base_url=artifact_server.url + API, timeout=30) as http:
        digest = http.post(artifact_server.url + API, content=payload).json()["digest"]
        whole = http.get(f"/{digest}")
        assert whole.status_code == 200 and whole.content == payload
        assert whole.headers["accept-ranges"] == "bytes"
        tail = http.get(f"/{digest}", headers={"Range": "bytes=2000000-"})
        assert tail.status_code == 206 and tail.content == payload[2_000_000:]
        assert tail.headers["content-range"] == f"bytes 2000000-2999999/{len(payload)}"
        middle = http.get(f"/{digest}", headers={"Range": "bytes=10-19"})
        assert middle.content == payload[10:20]
        assert http.get(f"/{digest}", headers={"Range": "bytes=9999999-"}).status_code == 416
        assert http.get(f"/{digest}", headers={"Range": "lines=1-2"}).status_code == 416
        head = http.head(f"/{digest}")
        assert head.status_code == 200 and int(head.headers["content-length"]) == len(payload)
        missing = http.get("/" + "0" * 64)
        assert missing.status_code == 404 and missing.json()["error"] == "NotFound"
        malformed = http.get("/not-a-digest")
        assert malformed.status_code == 400
        assert malformed.json()["error"] == "InvalidReference"


def test_the_client_resumes_an_upload_after_a_dropped_connection(
    artifact_server: ArtifactServer, proxies: list[CuttingProxy], tmp_path: Path
) -> None:
    proxy = CuttingProxy(_port(artifact_server), after=1_500_000, cuts=2, direction="up")
    proxies.append(proxy)
    client = RemoteArtifactStore(proxy.url, part_size=4 << 20, backoff_s=0.01)
    payload = os.urandom(6 << 20)
    source = tmp_path / "upload.bin"
    source.write_bytes(payload)
    digest = client.put_file(source)
    assert digest == hashlib.sha256(payload).hexdigest()
    assert proxy.connections > 2  # it was cut, and it came back
    assert ArtifactStore(str(artifact_server.home / "artifacts")).get(digest) == payload
    client.close()


def test_the_client_resumes_a_download_after_a_dropped_connection(
    artifact_server: ArtifactServer, proxies: list[CuttingProxy], tmp_path: Path
) -> None:
    payload = os.urandom(6 << 20)
    digest = ArtifactStore(str(artifact_server.home / "artifacts")).put(payload)
    proxy = CuttingProxy(_port(artifact_server), after=2_000_000, cuts=2, direction="down")
    proxies.append(proxy)
    client = RemoteArtifactStore(proxy.url, backoff_s=0.01)
    assert client.get_file(digest, tmp_path / "down.bin").read_bytes() == payload
    assert proxy.connections >= 3
    client.close()


def test_every_route_asks_the_context_for_its_permission(tmp_path: Path) -> None:
    grants = {"reader": {"runs.read"}, "writer": {"runs.read", "runs.write"}}
    asked: list[str] = []

    class Ctx:
        def __init__(self, workspace: Workspace) -> None:
            self.workspace = workspace

        def require(self, permission: str):  # type: ignore[no-untyped-def]
            def dependency(request: Request) -> str:
                asked.append(permission)
                who = request.headers.get("authorization", "").removeprefix("Bearer ")
                if who not in grants:
                    raise Unauthenticated("no token")
                if permission not in grants[who]:
                    raise PermissionDenied(f"{who} lacks {permission}", permission=permission)
                return who

            return dependency

    workspace = Workspace.open(home=tmp_path / "home")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(make_app(workspace, Ctx(workspace)), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            if server.started:
                break
            threading.Event().wait(0.05)
        writer = RemoteArtifactStore(url, token="writer")
        digest = writer.put(b"weights")
        reader = RemoteArtifactStore(url, token="reader")
        assert reader.get(digest) == b"weights"
        with pytest.raises(PermissionDenied, match="runs.write"):
            reader.put(b"more")
        with pytest.raises(PermissionDenied, match="users.admin"):
            writer.delete(digest)
        anonymous = RemoteArtifactStore(url)
        with pytest.raises(Unauthenticated):
            anonymous.exists(digest)
        assert {"runs.read", "runs.write", "users.admin"} <= set(asked)
        for store in (writer, reader, anonymous):
            store.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
