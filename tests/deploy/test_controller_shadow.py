"""The shadow report on a known disagreement, and webhooks at each stage of a rollout."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import loopml
from loopml import deploy
from loopml.entities import DeploymentEventKind
from loopml.serving import PredictionLog, PredictionRecord, log_feedback
from loopml.webhooks import EVENT_HEADER, verify_signature
from tests.deploy.rollout_helpers import ANA, measure, seed
from tests.fixtures.cli import Cli


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[loopml.Workspace]:
    workspace = loopml.Workspace.open(home=tmp_path / "home").derive(actor=ANA)
    seed(workspace)
    with loopml.use_workspace(workspace):
        yield workspace
    workspace.close()


def _shadow_log(ws: loopml.Workspace, n: int = 200) -> list[str]:
    """Stable answers and shadow copies: every 10th prediction differs, the shadow scores
    0.05 higher and takes 5 ms longer; the last 4 copies fail."""
    start = ws.store.get_deployment("fraud").created_at_ms + 1
    plog = PredictionLog(ws)
    plog.start()
    ids = []
    for i in range(n):
        pid, x = f"req-{i}", np.array([float(i)])
        score = 0.2 + 0.6 * (i % 2)
        label = int(score > 0.5)
        shadow_label = 1 - label if i % 10 == 0 else label
        plog.append(
            PredictionRecord(
                pid, start + i, "fraud", 1, "fraud", "stable", {"x": x},
                {"proba": np.array([score]), "predict": np.array([label])}, 10.0,
            )
        )  # fmt: skip
        failed = i >= n - 4
        plog.append(
            PredictionRecord(
                pid, start + i, "fraud", 2, "fraud", "shadow", {"x": x},
                {} if failed else {"proba": np.array([score + 0.05]),
                                   "predict": np.array([shadow_label])},
                15.0, "model" if failed else None,
            )
        )  # fmt: skip
        ids.append(pid)
    plog.close()
    return ids


def test_the_shadow_report_is_right_on_a_known_disagreement(
    ws: loopml.Workspace, run_cli: Cli
) -> None:
    deploy.create("fraud", "fraud@champion", strategy="shadow", candidate="fraud/2")
    ids = _shadow_log(ws)
    report = deploy.shadow_report("fraud")
    assert report.paired_rows == 196 and report.unpaired_rows == 0  # failed copies are logged
    assert report.disagreements == 20  # i % 10 == 0 for i < 196
    assert report.agreement_rate == pytest.approx(1 - 20 / 196)
    assert report.score_delta["mean"] == pytest.approx(0.05)
    assert report.latency_ms["delta"]["mean"] == pytest.approx(5.0)
    assert report.errors == {"stable": 0, "shadow": 4}
    assert report.metrics == {} and report.labelled_rows == 0
    # labels arrive: the stable predictions were right
    log_feedback(
        [{"prediction_id": p, "label": int((i % 2) == 1)} for i, p in enumerate(ids)],
        workspace=ws,
    )
    done = run_cli("--home", str(ws.home), "deploy", "report", "fraud", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["labelled_rows"] == 196
    accuracy = data["metrics"]["accuracy"]
    assert accuracy["stable"] == 1.0
    assert accuracy["delta"] == pytest.approx(-20 / 196)
    # +0.05 moves half the scores towards their label and half away: no change in MAE
    assert data["metrics"]["abs_error"]["delta"] == pytest.approx(0.0, abs=1e-9)
    text = run_cli("--home", str(ws.home), "deploy", "report", "fraud")
    assert text.returncode == 0 and "agreement" in text.stdout


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, bool, dict[str, Any]]] = []
    secret = ""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ok = verify_signature(body, dict(self.headers.items()), self.secret)
        self.received.append((self.headers[EVENT_HEADER], ok, json.loads(body)))
        self.send_response(200 if ok else 401)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"received": [], "secret": "s3cret-value"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_webhooks_are_signed_at_each_stage_and_recorded(
    ws: loopml.Workspace,
    receiver: tuple[str, type[_Receiver]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, handler = receiver
    monkeypatch.setenv("ROLLOUT_SECRET", handler.secret)
    spec = {
        "interval_s": 10,
        "metrics": {"error_rate": {"max": 0.05}},
        "webhooks": [{"url": url, "secret_env": "ROLLOUT_SECRET"}],
    }
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", analysis=spec, steps=[50, 100])
    deploy.step_rollout("fraud")
    assert measure(ws, "fraud", {"stable": {}, "canary": {}}).action == "advance"
    assert measure(ws, "fraud", {"canary": {"error_rate": 0.5}}).action == "rollback"
    events = [e for e, _, _ in handler.received]
    assert events == ["deploy.started", "deploy.step", "deploy.step", "deploy.rollback"]
    assert all(ok for _, ok, _ in handler.received)
    last = handler.received[-1][2]
    assert last["deployment"]["status"] == "rolled_back" and "error_rate" in last["reason"]
    recorded = [e for e in deploy.history("fraud") if e.kind is DeploymentEventKind.WEBHOOK]
    assert [e.detail["event"] for e in recorded] == events
    assert all(d["ok"] for e in recorded for d in e.detail["deliveries"])
    stored = json.dumps([e.to_dict() for e in deploy.history("fraud")])
    stored += json.dumps(deploy.get("fraud").to_dict())
    assert "ROLLOUT_SECRET" in stored
    assert handler.secret not in stored


def test_a_missing_secret_fails_the_delivery_and_sends_nothing(
    ws: loopml.Workspace,
    receiver: tuple[str, type[_Receiver]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, handler = receiver
    monkeypatch.delenv("ROLLOUT_SECRET", raising=False)
    spec = {
        "metrics": {"error_rate": {}},
        "webhooks": [{"url": url, "secret_env": "ROLLOUT_SECRET", "events": ["deploy.started"]}],
    }
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", analysis=spec)
    assert deploy.step_rollout("fraud").action == "advance"  # a dead hook stops nothing
    assert handler.received == []
    hook = [e for e in deploy.history("fraud") if e.kind is DeploymentEventKind.WEBHOOK]
    assert "ROLLOUT_SECRET is not set" in hook[0].detail["deliveries"][0]["error"]


def test_webhook_entries_are_checked_with_their_line(tmp_path: Path) -> None:
    bad = tmp_path / "analysis.yaml"
    bad.write_text(
        "metrics:\n  error_rate: {}\nwebhooks:\n  - url: http://x/hook\n"
        "    events: [deploy.stepp]\n"
    )
    with pytest.raises(loopml.errors.InvalidAnalysis, match=f"{bad}:5.*deploy.step"):
        deploy.load_analysis(bad)
