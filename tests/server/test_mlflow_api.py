"""The MLflow-compatible API in process: experiments, run search, errors in MLflow's form, auth.

The end-to-end check with MLflow's own client is tests/server/test_mlflow_client.py; these
cover what that script does not reach, over real HTTP on loopback (uvicorn in a thread) on
a real SQLite store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from loopml import Workspace
from loopml.governance import create_token
from loopml.tracking import TrackingClient
from tests.server.mlflow_app import build_app
from tests.serving.servers import free_port

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(home=tmp_path / "home")
    yield ws
    ws.close()


@contextmanager
def serving(workspace: Workspace, *, auth: bool = False) -> Iterator[httpx.Client]:
    """The app on a loopback port in this process; an HTTP client for it."""
    port = free_port()
    config = uvicorn.Config(
        build_app(workspace, auth=auth), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield http
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def client(workspace: Workspace) -> Iterator[httpx.Client]:
    with serving(workspace) as http:
        yield http


def _experiment(client: httpx.Client, name: str) -> str:
    reply = client.post(f"{API}/experiments/create", json={"name": name})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["experiment_id"])


def _run(client: httpx.Client, experiment_id: str, name: str, **tags: str) -> str:
    body = {
        "experiment_id": experiment_id,
        "run_name": name,
        "tags": [{"key": k, "value": v} for k, v in tags.items()],
    }
    reply = client.post(f"{API}/runs/create", json=body)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["run"]["info"]["run_id"])


def test_experiments_create_get_rename_delete_restore(client: httpx.Client) -> None:
    exp = _experiment(client, "churn")
    again = client.post(f"{API}/experiments/create", json={"name": "churn"})
    assert again.status_code == 400
    assert again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"

    got = client.get(f"{API}/experiments/get-by-name", params={"experiment_name": "churn"})
    assert got.json()["experiment"]["experiment_id"] == exp
    client.post(
        f"{API}/experiments/set-experiment-tag",
        json={"experiment_id": exp, "key": "team", "value": "risk"},
    )
    client.post(f"{API}/experiments/update", json={"experiment_id": exp, "new_name": "churn-v2"})
    shown = client.get(f"{API}/experiments/get", params={"experiment_id": exp}).json()
    assert shown["experiment"]["name"] == "churn-v2"
    assert shown["experiment"]["tags"] == [{"key": "team", "value": "risk"}]
    missing = client.get(f"{API}/experiments/get-by-name", params={"experiment_name": "churn"})
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    listed = client.post(f"{API}/experiments/search", json={"max_results": 10}).json()
    assert [e["name"] for e in listed["experiments"]] == ["Default", "churn-v2"]
    named = client.post(f"{API}/experiments/search", json={"filter": "name LIKE 'churn%'"})
    assert [e["experiment_id"] for e in named.json()["experiments"]] == [exp]

    client.post(f"{API}/experiments/delete", json={"experiment_id": exp})
    gone = client.get(f"{API}/experiments/get", params={"experiment_id": exp}).json()
    assert gone["experiment"]["lifecycle_stage"] == "deleted"
    refused = client.post(f"{API}/runs/create", json={"experiment_id": exp})
    assert refused.status_code == 400 and refused.json()["error_code"] == "INVALID_STATE"
    active = client.post(f"{API}/experiments/search", json={}).json()["experiments"]
    assert [e["name"] for e in active] == ["Default"]
    client.post(f"{API}/experiments/restore", json={"experiment_id": exp})
    _run(client, exp, "after-restore")


def test_run_search_filters_sorts_and_pages_like_mlflow(client: httpx.Client) -> None:
    exp = _experiment(client, "search")
    other = _experiment(client, "elsewhere")
    ids = []
    for i, model in enumerate(["rf", "lr", "rf"]):
        run_id = _run(client, exp, f"r{i}", team="risk" if i else "ops")
        batch = {
            "run_id": run_id,
            "params": [{"key": "model", "value": model}],
            "metrics": [{"key": "auc", "value": 0.5 + i / 10, "timestamp": 1, "step": 0}],
        }
        assert client.post(f"{API}/runs/log-batch", json=batch).status_code == 200
        ids.append(run_id)
    _run(client, other, "not-here")

    def search(**body: object) -> list[str]:
        reply = client.post(f"{API}/runs/search", json={"experiment_ids": [exp], **body})
        assert reply.status_code == 200, reply.text
        return [r["info"]["run_id"] for r in reply.json().get("runs", [])]

    assert search(filter="params.model = 'rf'", order_by=["metrics.auc DESC"]) == [ids[2], ids[0]]
    assert search(filter="metrics.auc > 0.55 and tags.team = 'risk'") == [ids[2], ids[1]]
    assert search(filter="attributes.run_name = 'r1'") == [ids[1]]
    assert search(filter="tags.mlflow.runName = 'r0'") == [ids[0]]
    assert search(order_by=["attributes.start_time ASC"]) == ids
    first = client.post(
        f"{API}/runs/search", json={"experiment_ids": [exp], "max_results": 2}
    ).json()
    assert len(first["runs"]) == 2
    rest = search(max_results=2, page_token=first["next_page_token"])
    assert len(rest) == 1 and rest[0] not in [r["info"]["run_id"] for r in first["runs"]]

    bad = client.post(
        f"{API}/runs/search", json={"experiment_ids": [exp], "filter": "metrics.auc >"}
    )
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"

    client.post(f"{API}/runs/delete", json={"run_id": ids[0]})
    assert ids[0] not in search()
    assert search(run_view_type="DELETED_ONLY") == [ids[0]]
    client.post(f"{API}/runs/restore", json={"run_id": ids[0]})
    assert ids[0] in search()


def test_runs_of_loopml_itself_are_in_the_default_experiment(
    client: httpx.Client, workspace: Workspace
) -> None:
    tracking = TrackingClient.for_workspace(workspace, capture_environment=False)
    try:
        with tracking.start_run(name="native", params={"lr": 0.1}) as run:
            run.log_metric("loss", 0.25)
        tracking.flush()
    finally:
        tracking.close()
    found = client.post(f"{API}/runs/search", json={"experiment_ids": ["0"]}).json()["runs"]
    assert [r["info"]["run_id"] for r in found] == [run.id]
    assert found[0]["data"]["params"] == [{"key": "lr", "value": "0.1"}]
    assert found[0]["data"]["metrics"][0]["value"] == 0.25
    assert found[0]["info"]["status"] == "FINISHED"


def test_metrics_params_tags_and_state(client: httpx.Client) -> None:
    run_id = _run(client, "0", "m")
    for step, value in enumerate([1.0, "NaN", 0.5]):
        body = {
            "run_id": run_id,
            "key": "loss",
            "value": value,
            "timestamp": 10 + step,
            "step": step,
        }
        assert client.post(f"{API}/runs/log-metric", json=body).status_code == 200
    history = client.get(
        f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"}
    ).json()["metrics"]
    assert [(m["step"], m["value"], m["timestamp"]) for m in history] == [
        (0, 1.0, 10),
        (1, "NaN", 11),
        (2, 0.5, 12),
    ]
    client.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "k", "value": "1"})
    changed = client.post(
        f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "k", "value": "2"}
    )
    assert changed.status_code == 400 and changed.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    reserved = client.post(
        f"{API}/runs/set-tag",
        json={"run_id": run_id, "key": "loopml.mlflow.experiment_id", "value": "x"},
    )
    assert reserved.status_code == 400
    deleted = client.post(f"{API}/runs/delete-tag", json={"run_id": run_id, "key": "a"})
    assert deleted.status_code == 400 and "not supported" in deleted.json()["message"]
    client.post(f"{API}/runs/update", json={"run_id": run_id, "status": "KILLED", "end_time": 5})
    info = client.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["info"]
    assert info["status"] == "KILLED" and "end_time" in info
    client.post(f"{API}/runs/delete", json={"run_id": run_id})
    late = client.post(f"{API}/runs/log-metric", json={"run_id": run_id, "key": "x", "value": 1})
    assert late.status_code == 400 and late.json()["error_code"] == "INVALID_STATE"


def test_bad_input_gets_mlflow_errors_never_500(client: httpx.Client) -> None:
    cases = [
        ("POST", f"{API}/runs/create", b"[1, 2]"),
        ("POST", f"{API}/runs/create", b"{not json"),
        ("POST", f"{API}/runs/log-batch", b'{"run_id": "x", "metrics": [{"key": 1}]}'),
        ("POST", f"{API}/runs/log-metric", b'{"run_id": "nope", "key": "a", "value": "high"}'),
        ("POST", f"{API}/runs/outputs", b'{"run_id": "nope", "models": 3}'),
        ("GET", f"{API}/runs/get?run_id=..%2F..", b""),
        ("GET", f"{API}/experiments/get?experiment_id=42", b""),
        ("POST", f"{API}/experiments/search", b'{"max_results": "many"}'),
        ("PATCH", f"{API}/logged-models/m-nope", b'{"status": "LOGGED_MODEL_READY"}'),
        ("GET", f"{API}/no/such/endpoint", b""),
        ("PUT", f"{ARTIFACTS}/0/abc/artifacts/../../etc/passwd", b"x"),
        ("GET", f"{ARTIFACTS}?path=0/abc", b""),
    ]
    for method, url, body in cases:
        reply = client.request(method, url, content=body)
        assert 400 <= reply.status_code < 500, (method, url, reply.status_code, reply.text)
        assert set(reply.json()) == {"error_code", "message"}, reply.text


def test_artifacts_stream_into_the_run_and_back(client: httpx.Client, workspace: Workspace) -> None:
    run_id = _run(client, "0", "files")
    payload = bytes(range(256)) * 40_000  # 10 MB: past the spool's memory threshold
    put = client.put(f"{ARTIFACTS}/0/{run_id}/artifacts/data/blob.bin", content=payload)
    assert put.status_code == 200, put.text
    listed = client.get(ARTIFACTS, params={"path": f"0/{run_id}/artifacts"}).json()
    assert listed["files"] == [{"path": "data", "is_dir": True}]
    inside = client.get(ARTIFACTS, params={"path": f"0/{run_id}/artifacts/data"}).json()
    assert inside["files"] == [{"path": "blob.bin", "is_dir": False, "file_size": len(payload)}]
    got = client.get(f"{ARTIFACTS}/0/{run_id}/artifacts/data/blob.bin")
    assert got.status_code == 200 and got.content == payload
    [stored] = workspace.store.list_run_artifacts(run_id)
    assert (stored.path, stored.size) == ("data/blob.bin", len(payload))
    missing = client.get(f"{ARTIFACTS}/0/{run_id}/artifacts/none.txt")
    assert missing.status_code == 404


def test_auth_errors_are_mlflow_errors(workspace: Workspace) -> None:
    store = workspace.store
    store.create_user("viewer1", actor="admin")
    store.grant_role("viewer1", "viewer", actor="admin")
    secret, _ = create_token("viewer1", actor="admin", store=store)
    with serving(workspace, auth=True) as http:
        anonymous = http.post(f"{API}/experiments/create", json={"name": "x"})
        assert anonymous.status_code == 401
        assert anonymous.json()["error_code"] == "UNAUTHENTICATED"
        headers = {"Authorization": f"Bearer {secret}"}
        read = http.post(f"{API}/experiments/search", json={}, headers=headers)
        assert read.status_code == 200
        write = http.post(f"{API}/experiments/create", json={"name": "x"}, headers=headers)
        assert write.status_code == 403
        assert write.json()["error_code"] == "PERMISSION_DENIED"
        assert "runs.write" in write.json()["message"]
        upload = http.put(f"{ARTIFACTS}/0/abc/artifacts/a.txt", content=b"x", headers=headers)
        assert upload.status_code == 403
