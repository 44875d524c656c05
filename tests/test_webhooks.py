"""Signed webhooks delivered to a receiver we start ourselves on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from loopml.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    send_webhook,
    sign,
    verify_signature,
)


class _Receiver:
    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.got: list[tuple[dict[str, str], bytes]] = []


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[tuple[str, _Receiver]]:
    state = _Receiver(list(getattr(request, "param", [200])))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.got.append((dict(self.headers.items()), body))
            status = state.statuses.pop(0) if len(state.statuses) > 1 else state.statuses[0]
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", state
    server.shutdown()
    server.server_close()


def test_delivered_with_a_signature_the_receiver_verifies(
    receiver: tuple[str, _Receiver],
) -> None:
    url, state = receiver
    delivery = send_webhook(url, "deploy.step", {"deployment": "fraud", "weight": 25}, secret="s3")
    assert delivery.ok and delivery.status == 200 and delivery.attempts == 1
    headers, body = state.got[0]
    assert json.loads(body) == {"deployment": "fraud", "weight": 25}
    assert headers["X-Loopml-Event"] == "deploy.step"
    assert verify_signature(body, headers, "s3")
    assert not verify_signature(body, headers, "wrong secret")
    assert not verify_signature(body + b" ", headers, "s3")


def test_old_signature_is_refused_as_a_replay() -> None:
    body = b'{"a":1}'
    headers = {SIGNATURE_HEADER: sign(body, "k", 1_000), TIMESTAMP_HEADER: "1000"}
    assert verify_signature(body, headers, "k", now=1_100)
    assert not verify_signature(body, headers, "k", now=1_000 + 301)


@pytest.mark.parametrize("receiver", [[503, 503, 200]], indirect=True)
def test_5xx_is_retried_until_it_succeeds(receiver: tuple[str, _Receiver]) -> None:
    url, state = receiver
    delivery = send_webhook(url, "alert.firing", {"x": 1}, backoff_s=0.01)
    assert delivery.ok and delivery.attempts == 3
    ids = {h["X-Loopml-Delivery"] for h, _ in state.got}
    assert len(ids) == 1  # one delivery id across the retries, so receivers can dedupe


@pytest.mark.parametrize("receiver", [[400]], indirect=True)
def test_4xx_is_final_and_reported(receiver: tuple[str, _Receiver]) -> None:
    url, state = receiver
    delivery = send_webhook(url, "alert.firing", {"x": 1}, backoff_s=0.01)
    assert not delivery.ok and delivery.status == 400 and delivery.attempts == 1
    assert delivery.error == "HTTP 400"


def test_unreachable_receiver_does_not_raise() -> None:
    delivery = send_webhook("http://127.0.0.1:9/x", "e", {}, retries=1, backoff_s=0.01)
    assert not delivery.ok and delivery.status == 0 and delivery.attempts == 2
    assert delivery.error
