"""MLflow's own client, in its own venv, logs to a real loopml server process on loopback.

The run is then read back through loopml (``loopml.tracking`` and ``loopml runs show
--json``) with the same params, metrics, steps, tags and artifact bytes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from loopml import Workspace
from loopml.governance import create_token
from loopml.tracking import TrackingClient
from tests.fixtures.mlflow_models import mlflow_python
from tests.serving.servers import ROOT, env, free_port

SCRIPT = Path(__file__).with_name("mlflow_client_script.py")


@contextmanager
def serving(home: Path, *args: str) -> Iterator[str]:
    """A loopml server process serving MLflow's API over ``home``; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.server.mlflow_app", str(port), *args],
        env=env(home),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.stdout else ""
                raise AssertionError(f"the loopml server did not start:\n{out}")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server without auth; yields its URL and home."""
    home = tmp_path_factory.mktemp("mlflow-home")
    with serving(home) as url:
        yield url, home


def run_mlflow(url: str, scratch: Path, **extra: str) -> dict:
    python = mlflow_python()
    child_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    child_env.update(
        MLFLOW_TRACKING_URI=url,
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_HTTP_REQUEST_TIMEOUT="30",
        **extra,
    )
    done = subprocess.run(
        [str(python), "-W", "ignore", str(SCRIPT), str(scratch)],
        env=child_env,
        cwd=scratch,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def logged(server: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    url, _ = server
    return run_mlflow(url, tmp_path_factory.mktemp("mlflow-client"), WITH_AUTOLOG="1")


def test_mlflow_reads_back_what_it_logged(logged: dict) -> None:
    back = logged["read_back"]
    assert logged["mlflow"].startswith("3.17")
    assert back["status"] == "FINISHED"
    assert back["name"] == "from-mlflow"
    assert back["params"] == {"alpha": "0.5", "model": "ridge", "layers": "3"}
    assert back["metrics"] == {"loss": 0.2, "acc": 0.75, "f1": 0.5}
    assert back["tags"] == {"team": "risk", "stage": "dev", "note": "hello"}
    assert logged["history"] == [[s, 1.0 / (s + 1)] for s in range(5)]
    assert logged["artifacts"] == ["plots", "report.txt"]
    assert logged["plots"] == ["plots/curve.csv"]
    assert logged["downloaded"] == "loopml speaks MLflow\n"
    assert logged["searched"] == [logged["run_id"]]
    assert logged["searched_none"] == 0


def test_mlflow_raises_its_own_errors(logged: dict) -> None:
    assert logged["missing_error"] == "RESOURCE_DOES_NOT_EXIST"
    assert logged["param_change_error"] == "INVALID_PARAMETER_VALUE"


def test_loopml_reads_the_run_mlflow_logged(server: tuple[str, Path], logged: dict) -> None:
    _, home = server
    with Workspace.open(home=home) as workspace:
        client = TrackingClient.for_workspace(workspace, capture_environment=False)
        try:
            run = client.get_run(logged["run_id"])
            assert run.name == "from-mlflow"
            assert run.status.value == "FINISHED"
            assert dict(run.params) == {"alpha": "0.5", "model": "ridge", "layers": "3"}
            assert {k: run.tags[k] for k in ("team", "stage", "note")} == {
                "team": "risk",
                "stage": "dev",
                "note": "hello",
            }
            loss = client.metric_history(run.id, "loss")
            assert [(p.step, p.value) for p in loss] == [(s, 1.0 / (s + 1)) for s in range(5)]
            assert client.read_artifact(run.id, "report.txt") == b"loopml speaks MLflow\n"
            assert client.read_artifact(run.id, "plots/curve.csv") == b"step,loss\n0,1.0\n"
        finally:
            client.close()


def test_loopml_cli_shows_the_run(server: tuple[str, Path], logged: dict) -> None:
    _, home = server
    done = subprocess.run(
        [sys.executable, "-m", "loopml", "runs", "show", logged["run_id"], "--json"],
        env=env(home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["params"]["alpha"] == "0.5"
    assert shown["metrics"]["loss"]["latest"] == 0.2
    assert shown["metrics"]["loss"]["count"] == 5
    assert shown["metrics"]["acc"]["latest"] == 0.75


def test_sklearn_autolog_logs_params_metrics_and_model(
    server: tuple[str, Path], logged: dict
) -> None:
    if logged.get("autolog") is None:
        pytest.skip("MLflow's venv has no scikit-learn")
    _, home = server
    with Workspace.open(home=home) as workspace:
        run = workspace.store.get_run(logged["autolog"])
        assert run.params["C"] == "0.25"
        assert run.params["max_iter"] == "50"
        assert run.tags["estimator_name"] == "LogisticRegression"
        summaries = {s.key: s for s in workspace.store.metric_summaries([run.id])}
        assert summaries["training_accuracy_score"].latest == 1.0
        files = [a.path for a in workspace.store.list_run_artifacts(run.id)]
        assert any(path.startswith("models/m-") and path.endswith("/MLmodel") for path in files)


def test_mlflow_logs_with_a_loopml_token_and_is_refused_without(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Workspace.open(home=home) as workspace:
        workspace.store.create_user("trainer", actor="admin", kind="service")
        workspace.store.grant_role("trainer", "scientist", actor="admin")
        secret, _ = create_token("trainer", actor="admin", store=workspace.store)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with serving(home, "--auth") as url:
        out = run_mlflow(url, scratch, MODE="token", MLFLOW_TRACKING_TOKEN=secret)
    assert out["without_token"] == [401, "UNAUTHENTICATED"]
    with Workspace.open(home=home) as workspace:
        run = workspace.store.get_run(out["run_id"])
        assert run.params == {"who": "service"}
        assert [(p.step, p.value) for p in workspace.store.metric_history(run.id, "m")] == [
            (2, 1.5)
        ]
