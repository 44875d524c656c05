"""`loopml serve` as a real process: tritonclient, schemathesis, tampering, graceful stop."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.serving.servers import client_python, env, serving

TRITON = "tritonclient[http]==2.73.*"

_TRITON_SCRIPT = """
import json, sys, numpy as np, tritonclient.http as httpclient
c = httpclient.InferenceServerClient(url=sys.argv[1])
assert c.is_server_ready() and c.is_model_ready("clf")
meta = c.get_model_metadata("clf")
x = np.array([[0.5, -1.0, 2.0], [-3.0, 1.0, 0.0]], dtype=np.float32)
inp = httpclient.InferInput("input", list(x.shape), "FP32")
inp.set_data_from_numpy(x, binary_data=False)
out = httpclient.InferRequestedOutput("predict", binary_data=False)
res = c.infer("clf", inputs=[inp], outputs=[out], request_id="r1")
names = [i["name"] for i in meta["inputs"]]
print(json.dumps([res.as_numpy("predict").tolist(), res.get_response()["id"], names]))
"""


KSERVE = "kserve==0.21.*"

_KSERVE_SCRIPT = """
import asyncio, json, sys
import numpy as np
from kserve import InferenceRESTClient, RESTConfig, InferRequest, InferInput

async def main(url):
    c = InferenceRESTClient(RESTConfig(protocol="v2", retries=1, timeout=10))
    try:
        assert await c.is_server_ready(url)
        x = np.array([[0.5, -1.0, 2.0], [-3.0, 1.0, 0.0]], dtype=np.float32)
        inp = InferInput(name="input", shape=list(x.shape), datatype="FP32")
        inp.set_data_from_numpy(x, binary_data=False)
        req = InferRequest(model_name="clf", infer_inputs=[inp], request_id="k1")
        res = await c.infer(url, req, model_name="clf")
        out = {o.name: o.as_numpy().tolist() for o in res.outputs}
        print(json.dumps([out["predict"], res.id]))
    finally:
        await c.close()

asyncio.run(main(sys.argv[1]))
"""


@pytest.fixture(scope="module")
def server(classifier_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    with serving(str(classifier_dir), tmp_path_factory.mktemp("home"), "--no-log") as (url, _):
        yield url


def test_tritonclient_against_loopml_serve(server: str, classifier_dir: Path) -> None:
    from loopml.models import load_model

    python = client_python("triton-2.73", TRITON, "numpy<3")
    done = subprocess.run(
        [str(python), "-c", _TRITON_SCRIPT, server.removeprefix("http://")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    import pandas as pd

    rows = pd.DataFrame([[0.5, -1.0, 2.0], [-3.0, 1.0, 0.0]], columns=["amount", "hour", "age"])
    assert json.loads(done.stdout) == [
        load_model(classifier_dir).predict(rows).tolist(),
        "r1",
        ["amount", "hour", "age"],
    ]


def test_kserve_sdk_against_loopml_serve(server: str, classifier_dir: Path) -> None:
    import pandas as pd

    from loopml.models import load_model

    python = client_python("kserve-0.21", KSERVE)
    done = subprocess.run(
        [str(python), "-c", _KSERVE_SCRIPT, server],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = pd.DataFrame([[0.5, -1.0, 2.0], [-3.0, 1.0, 0.0]], columns=["amount", "hour", "age"])
    expected = load_model(classifier_dir).predict(rows).tolist()
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [expected, "k1"]


def test_schemathesis_finds_no_5xx(server: str) -> None:
    api = schemathesis.openapi.from_url(f"{server}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @settings(
            max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(operation.as_strategy())
        def check(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(timeout=10)
            assert response.status_code < 500, (case.path, response.text[:300])

        check()


def test_tampered_model_refuses_to_start(classifier_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(classifier_dir, bad)
    weights = bad / "model.skops"
    weights.write_bytes(weights.read_bytes() + b"x")
    done = subprocess.run(
        [sys.executable, "-m", "loopml", "serve", str(bad), "--port", "0"],
        env=env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "digest mismatch" in (done.stdout + done.stderr).lower()
    assert "model.skops" in done.stdout + done.stderr


def test_sigterm_lets_in_flight_requests_finish(classifier_dir: Path, tmp_path: Path) -> None:
    body = json.dumps({"instances": [[1.0, 2.0, 3.0]] * 2000}).encode()
    with serving(str(classifier_dir), tmp_path / "home", "--no-log") as (url, proc):
        results: list[int] = []

        def send() -> None:
            req = urllib.request.Request(f"{url}/invocations", data=body, method="POST")
            req.add_header("content-type", "application/json")
            with urllib.request.urlopen(req, timeout=30) as r:
                results.append(r.status)

        threads = [threading.Thread(target=send) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(timeout=30)
        # uvicorn re-raises the signal once it has shut down gracefully.
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    # Requests accepted before the signal were answered; none was cut off with an error.
    assert results == [200] * 4


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(p) for p in text)
    return found


def test_two_workers_answer_and_their_logs_keep_every_prediction_once(
    classifier_dir: Path, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import loopml
    from loopml.serving import read_predictions

    home = tmp_path / "home"
    body = json.dumps({"instances": [[1.0, 2.0, 3.0]]}).encode()

    def send(k: int) -> int:
        req = urllib.request.Request(f"{url}/invocations", data=body, method="POST")
        req.add_header("content-type", "application/json")
        req.add_header("x-prediction-id", f"w-{k}")
        with urllib.request.urlopen(req, timeout=30) as r:
            return int(r.status)

    with serving(str(classifier_dir), home, "--workers", "2") as (url, proc):
        deadline = time.monotonic() + 30
        while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _children(proc.pid)
        assert len(workers) >= 2, f"expected 2 worker processes, found {workers}"
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(send, range(200)))
        assert statuses == [200] * 200
    # Both workers flushed their logs on SIGTERM: every prediction once, none lost.
    with loopml.Workspace.open(home=home) as ws:
        logged = read_predictions(workspace=ws, with_feedback=False)
    ids = logged["prediction_id"].tolist()
    assert sorted(ids) == sorted(f"w-{k}" for k in range(200))
