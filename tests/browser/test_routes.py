"""The UI's routes over real HTTP without a browser: sign-in, authorisation, bad input.

These run everywhere (no chromium needed): a real server on loopback over a small home.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from loopml.config import load_settings
from loopml.governance import create_token
from loopml.server import running_server
from loopml.tracking import TrackingClient
from loopml.workspace import Workspace


@dataclass
class Small:
    url: str
    workspace: Workspace
    tokens: dict[str, str]
    run_id: str


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Small]:
    workspace = Workspace(load_settings(home=tmp_path_factory.mktemp("small"), env={}))
    store = workspace.store
    tokens = {}
    for name, role in (("ava", "approver"), ("vic", "viewer")):
        store.create_user(name, actor="bootstrap")
        store.grant_role(name, role, actor="bootstrap")
        tokens[name], _ = create_token(name, actor="bootstrap", store=store)
    client = TrackingClient.for_workspace(workspace)
    with client.start_run("tiny", params={"C": "1"}) as run:
        run.log_metrics({"loss": 0.5}, step=0)
        run.log_metrics({"loss": 0.25}, step=1)
        run.log_text(
            "<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "evil.svg"
        )
    client.close()
    with running_server(workspace) as url:
        yield Small(url, workspace, tokens, run.id)
    workspace.close()


def _client(small: Small, who: str | None) -> httpx.Client:
    cookies = {"loopml_token": small.tokens[who]} if who else {}
    return httpx.Client(base_url=small.url, cookies=cookies, follow_redirects=False)


def test_pages_need_a_sign_in_and_send_the_browser_to_the_login_form(small: Small) -> None:
    with _client(small, None) as http:
        answer = http.get("/runs?filter=x")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=/runs%3Ffilter%3Dx"
        assert http.get("/login").status_code == 200
        bad = http.post("/login", data={"token": "wrong", "next": "/runs"})
        assert bad.status_code == 401 and "token" in bad.text
        good = http.post("/login", data={"token": small.tokens["vic"], "next": "/runs"})
        assert good.status_code == 303 and good.headers["location"] == "/runs"
        cookie = good.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        offsite = http.post("/login", data={"token": small.tokens["vic"], "next": "//evil"})
        assert offsite.headers["location"] == "/"


def test_a_viewer_reads_but_may_not_approve_and_cannot_post_from_another_site(
    small: Small,
) -> None:
    with _client(small, "vic") as viewer:
        page = viewer.get("/runs")
        assert page.status_code == 200 and "tiny" in page.text
        assert viewer.get("/audit").status_code == 403  # a viewer lacks audit.read
        refused = viewer.post("/models/m/requests/r1/approve", data={"comment": "x"})
        assert refused.status_code == 403
        assert refused.json()["error"] == "PermissionDenied"
    with _client(small, "ava") as approver:
        forged = approver.post(
            "/models/m/requests/r1/approve", headers={"Origin": "http://evil.example"}
        )
        assert forged.status_code == 403 and "evil.example" in forged.json()["message"]
        assert approver.get("/audit").status_code == 200


def test_a_browser_gets_an_error_page_and_an_api_client_json(small: Small) -> None:
    html = {"Accept": "text/html,application/xhtml+xml"}
    with _client(small, "vic") as viewer:
        denied = viewer.get("/audit", headers=html)
        assert denied.status_code == 403
        assert denied.headers["content-type"].startswith("text/html")
        assert "lacks the permission &#39;audit.read&#39;" in denied.text
        assert "<nav" in denied.text and "vic" in denied.text
        missing = viewer.get("/runs/no-such-run", headers=html)
        assert missing.status_code == 404 and "Not found" in missing.text
        assert viewer.get("/runs/no-such-run").json()["error"] == "NotFound"


def test_deciding_an_unknown_request_answers_404(small: Small) -> None:
    with _client(small, "ava") as approver:
        missing = approver.post("/models/none/requests/nope/approve", data={"comment": "x"})
        assert missing.status_code == 404 and missing.json()["error"] == "NotFound"


def test_bad_input_answers_400_with_the_reason(small: Small) -> None:
    with _client(small, "ava") as http:
        bad_filter = http.get("/runs", params={"filter": "metrics.loss <"})
        assert bad_filter.status_code == 400
        assert "malformed run filter at column" in bad_filter.text
        assert http.get("/runs", params={"columns": "weird"}).status_code == 400
        assert http.get("/lineage", params={"ref": "nonsense"}).status_code == 400
        assert http.get("/audit", params={"outcome": "maybe"}).status_code == 400
        assert http.get("/static/../_ui.py").status_code == 404
        assert http.get("/static/%2e%2e/_ui.py").status_code == 404
        assert http.get("/runs/no-such-run").status_code == 404


def test_a_runs_files_are_served_sandboxed(small: Small) -> None:
    with _client(small, "vic") as http:
        page = http.get(f"/runs/{small.run_id}/artifacts/evil.svg")
        assert "<img" in page.text
        raw = http.get(f"/runs/{small.run_id}/artifacts/evil.svg", params={"raw": 1})
        assert raw.headers["content-type"] == "image/svg+xml"
        assert raw.headers["content-security-policy"].startswith("sandbox")
        assert raw.headers["x-content-type-options"] == "nosniff"


def test_metric_history_and_count_endpoints(small: Small) -> None:
    with _client(small, "vic") as http:
        series = http.get(f"/runs/{small.run_id}/metric", params={"key": "loss"}).json()
        assert series["step"] == [0, 1] and series["value"] == [0.5, 0.25]
        assert http.get("/runs/count", params={"filter": "params.C = '1'"}).text == "1 matching"
        rows = http.get("/runs/rows", params={"page": 2})
        assert rows.status_code == 200 and "<tr" not in rows.text  # past the last page


def test_loopml_ui_serves_the_home_on_loopback(tmp_path: Path) -> None:
    env = {**os.environ, "LOOPML_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopml", "ui", "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        url = match.group(0)
        for _ in range(100):
            try:
                answer = httpx.get(url, timeout=2)  # the runs list is the home page
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer.status_code == 200 and "<h1>Runs" in answer.text
        assert httpx.get(url + "static/vendor/htmx/htmx.min.js").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_deployments_traffic_is_charted_per_arm_from_its_log(tmp_path: Path) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from loopml import deploy, registry
    from loopml.serving import PredictionLog, PredictionRecord

    workspace = Workspace(load_settings(home=tmp_path / "home", env={}))
    x, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    for c in (1.0, 0.5):
        registry.register_model(
            "fraud", LogisticRegression(C=c).fit(x, y), store=workspace.store,
            artifacts=workspace.artifacts,
        )  # fmt: skip
    deploy.create("fraud", "fraud/1", candidate="fraud/2", workspace=workspace)
    now = int(time.time() * 1000)
    log = PredictionLog(workspace)
    log.start()
    for i, (arm, version, ms, error) in enumerate(
        [("stable", 1, 10.0, None)] * 30 + [("canary", 2, 50.0, None)] * 9
        + [("canary", 2, 80.0, "model")]
    ):  # fmt: skip
        log.append(
            PredictionRecord(
                f"p{i}", now - 1000, "fraud", version, "fraud", arm,
                {"x": np.array([1.0, 2.0])}, {} if error else {"predict": np.array([0, 1])},
                ms, error,
            )
        )  # fmt: skip
    log.close()
    with running_server(workspace, auth=False) as url, httpx.Client(base_url=url) as http:
        series = http.get("/deployments/fraud/traffic").json()
        missing = http.get("/deployments/nope/traffic")
    workspace.close()
    assert len(series["time"]) == 1 and missing.status_code == 404
    assert series["latency"]["stable p50 ms"] == [10.0]
    assert series["latency"]["canary p95 ms"][0] == pytest.approx(66.5)  # nine 50s, one 80
    assert series["throughput"]["stable req/s"] == [pytest.approx(30 / 60)]
    assert series["errors"]["canary errors"] == [1.0]


def test_column_keys_come_from_the_filtered_runs(small: Small) -> None:
    with _client(small, "vic") as http:
        keys = http.get("/runs/keys", params={"filter": "params.C = '1'", "col": "metrics.loss"})
        assert keys.status_code == 200
        box = r'<input type="checkbox" name="col" value="([^"]+)"( checked)?'
        boxes = re.findall(box, keys.text)
        assert boxes == [("metrics.loss", " checked"), ("params.C", "")]
        assert http.get("/runs/keys", params={"filter": "params.C = '2'"}).text.count("<li>") == 0
        bad = http.get("/runs/keys", params={"filter": "metrics.loss <"})
        assert bad.status_code == 200 and "malformed run filter" in bad.text
        listed = http.get("/runs", params=[("col", "params.C"), ("col", "metrics.loss")])
        assert listed.status_code == 200
        # sort links carry the chosen columns on, comma-joined
        assert "columns=params.C%2C+metrics.loss" in listed.text
        assert http.get("/runs", params={"col": "weird"}).status_code == 400


def test_a_step_log_is_served_escaped_or_as_plain_text(small: Small) -> None:
    from loopml.entities import PipelineRun, PipelineStatus, StepRun, StepStatus
    from loopml.ids import new_id

    store = small.workspace.store
    digest = small.workspace.artifacts.put(b"hello <script>alert(1)</script>\n")
    run = PipelineRun(new_id(), "p", PipelineStatus.COMPLETED, int(time.time() * 1000))
    step = StepRun(new_id(), run.id, "talk", StepStatus.COMPLETED, log_digest=digest)
    store.create_pipeline_run(run, [step, StepRun(new_id(), run.id, "quiet")])
    with _client(small, "vic") as http:
        page = http.get(f"/pipelines/{run.id}")
        assert 'id="log-talk"' in page.text and 'id="log-quiet"' not in page.text
        part = http.get(f"/pipelines/{run.id}/log/talk", headers={"HX-Request": "true"})
        assert "hello &lt;script&gt;alert(1)&lt;/script&gt;" in part.text
        raw = http.get(f"/pipelines/{run.id}/log/talk", params={"raw": 1})
        assert raw.text == "hello <script>alert(1)</script>\n"
        assert raw.headers["content-type"].startswith("text/plain")
        assert raw.headers["x-content-type-options"] == "nosniff"
        quiet = http.get(f"/pipelines/{run.id}/log/quiet", headers={"HX-Request": "true"})
        assert "no captured output" in quiet.text
        assert http.get(f"/pipelines/{run.id}/log/nope").status_code == 400
        assert http.get(f"/pipelines/{'f' * 32}/log/talk").status_code == 404


def test_a_dataset_without_a_saved_schema_says_how_to_validate(small: Small) -> None:
    from loopml.data import DataRepo

    folder = Path(small.workspace.settings.home) / "plain"
    folder.mkdir(exist_ok=True)
    (folder / "t.csv").write_text("a,b\n1,2\n")
    DataRepo.for_workspace(small.workspace).commit("plain", [folder / "t.csv"], message="m")
    with _client(small, "vic") as http:
        report = http.get("/data/plain/validation")
        assert report.status_code == 200 and "No saved schema" in report.text
        page = http.get("/data/plain")
        assert "no column that looks like personal data" in page.text
        assert "PII policy at commit" in page.text
