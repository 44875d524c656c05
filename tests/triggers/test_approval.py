"""Human in the loop: a promotion policy pauses the chain, a signed webhook asks for the
approval; `loopml models approve` continues it, a time-out rolls it back."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import loopml
from loopml import deploy, registry, triggers
from loopml.entities import DeploymentStatus, RequestStatus, TriggerEventKind
from loopml.webhooks import verify_signature
from tests.fixtures.cli import Cli
from tests.triggers.conftest import ANA, BEN
from tests.triggers.test_chain import _action

SECRET = "s3cret"


@pytest.fixture
def hook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append({"headers": dict(self.headers), "body": body})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    server.shutdown()
    server.server_close()


def _guarded(ws: loopml.Workspace, tmp_path: Path, url: str, timeout_s: float) -> str:
    registry.set_promotion_policy("fraud", "champion", approvals=1, store=ws.store, actor=ANA)
    # the champion was evaluated by its gates before the policy (promotions need green gates)
    triggers.add_trigger(
        "guarded",
        "manual",
        "fraud",
        action=_action(
            tmp_path,
            approval_timeout_s=timeout_s,
            webhook={"url": url, "secret": SECRET, "retries": 0},
        ),
    )
    chain = triggers.fire("guarded").chain_id
    assert chain is not None
    return chain


def _run_in_thread(chain: str, ws: loopml.Workspace) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(
        target=lambda: out.append(triggers.run_chain(chain, workspace=ws)), daemon=True
    )
    thread.start()
    return thread, out


def _wait_for_approval_event(chain: str, ws: loopml.Workspace) -> str:
    for _ in range(400):
        asked = [
            e
            for e in triggers.history(chain_id=chain, workspace=ws)
            if e.kind is TriggerEventKind.APPROVAL
        ]
        if asked:
            return str(asked[0].detail["request"])
        time.sleep(0.05)
    raise AssertionError(f"no approval asked: {triggers.history(chain_id=chain, workspace=ws)}")


def test_approval_pauses_notifies_and_continues_when_approved(
    loop_ws: loopml.Workspace, tmp_path: Path, hook: tuple[str, list[dict[str, Any]]], cli: Cli
) -> None:
    url, got = hook
    chain = _guarded(loop_ws, tmp_path, url, timeout_s=120)
    thread, out = _run_in_thread(chain, loop_ws)
    request_id = _wait_for_approval_event(chain, loop_ws)
    assert deploy.get("fraud-v2").status is DeploymentStatus.PAUSED  # waiting, not promoted
    assert registry.get_version("fraud@champion").number == 1
    # the webhook was signed
    assert len(got) == 1
    payload = json.loads(got[0]["body"])
    assert payload["request"] == request_id and payload["version"] == 2
    assert verify_signature(got[0]["body"], got[0]["headers"], SECRET)
    assert not verify_signature(got[0]["body"], got[0]["headers"], "wrong")
    done = cli(
        "--home",
        str(loop_ws.home),
        "models",
        "approve",
        request_id,
        "-m",
        "looks good",
        env={"LOOPML_USER": BEN.name, "LOOPML_ROLES": "approver"},
    )
    assert done.returncode == 0, done.stderr
    thread.join(timeout=60)
    assert out and out[0].outcome == "promoted"
    assert registry.get_version("fraud@champion").number == 2
    assert deploy.get("fraud-v2").status is DeploymentStatus.COMPLETED


def test_approval_time_out_rolls_back(
    loop_ws: loopml.Workspace, tmp_path: Path, hook: tuple[str, list[dict[str, Any]]]
) -> None:
    chain = _guarded(loop_ws, tmp_path, hook[0], timeout_s=0.5)
    result = triggers.run_chain(chain)
    assert result.outcome == "rolled_back"
    assert "no approval" in str(result.events[-1].detail["why"])
    assert deploy.get("fraud-v2").status is DeploymentStatus.ROLLED_BACK
    assert registry.get_version("fraud@champion").number == 1


def test_rejected_request_rolls_back(
    loop_ws: loopml.Workspace, tmp_path: Path, hook: tuple[str, list[dict[str, Any]]]
) -> None:
    chain = _guarded(loop_ws, tmp_path, hook[0], timeout_s=120)
    thread, out = _run_in_thread(chain, loop_ws)
    request_id = _wait_for_approval_event(chain, loop_ws)
    registry.reject(request_id, comment="not now", store=loop_ws.store, actor=BEN)
    thread.join(timeout=60)
    assert out and out[0].outcome == "rolled_back"
    assert registry.get_version("fraud@champion").number == 1
    statuses = [r.status for r in registry.list_requests("fraud", store=loop_ws.store)]
    assert RequestStatus.REJECTED in statuses
