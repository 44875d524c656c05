"""The demo's data, training pipeline and release against a real `loopml server` process: with
LOOPML_SERVER_URL and LOOPML_TOKEN the SDK calls run unchanged, and the run, the model
version and the alias are visible through the server's API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from threadpoolctl import threadpool_limits

from loopml.config import load_settings
from loopml.data import DataRepo
from loopml.demo._data import prepare_data
from loopml.demo._release import MODEL, release, write_gates
from loopml.demo._train import train_pipeline, tune_briefly
from loopml.governance import create_token
from loopml.pipelines import LocalExecutor
from loopml.store.rest import RestStore
from loopml.store.sql import SqlStore
from loopml.tracking import TrackingClient
from loopml.workspace import Workspace, use_workspace
from tests.server._process import free_port, start_server, stop_server

pytestmark = pytest.mark.slow

DAYS, ROWS_PER_DAY, SEED = 30, 2000, 7


class _Approver:
    """The store as the author's token sees it, but decisions travel with the approver's
    token: the server takes the actor from the token, so the four-eyes rule needs two."""

    def __init__(self, author: RestStore, approver: RestStore) -> None:
        self._author, self._approver = author, approver

    def add_decision(self, *args: Any, **kwargs: Any) -> Any:
        return self._approver.add_decision(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._author, name)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    home = tmp_path / "server-home"
    home.mkdir()
    tokens: dict[str, str] = {}
    with SqlStore(f"sqlite:///{home}/loopml.db") as store:
        for name, role in (("eve", "engineer"), ("ada", "approver")):
            store.create_user(name, actor="setup")
            store.grant_role(name, role, actor="setup")
            tokens[name], _ = create_token(name, actor="setup", store=store)
    port = free_port()
    proc = start_server(home, port)
    try:
        yield f"http://127.0.0.1:{port}", tokens
    finally:
        stop_server(proc)


def test_the_demo_trains_and_releases_through_the_server(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, tokens = server
    env = {"LOOPML_SERVER_URL": url, "LOOPML_TOKEN": tokens["eve"]}
    workspace = Workspace(load_settings(home=tmp_path / "client-home", env=env))
    assert isinstance(workspace.store, RestStore)
    approver = RestStore(url, token=tokens["ada"])
    client = TrackingClient.for_workspace(workspace)
    work = tmp_path / "demo"
    try:
        with (
            closing(LocalExecutor(max_workers=1)) as executor,
            threadpool_limits(limits=1),
            use_workspace(workspace),
        ):
            data = prepare_data(
                DataRepo.for_workspace(workspace),
                work / "data",
                days=DAYS,
                rows_per_day=ROWS_PER_DAY,
                seed=SEED,
            )
            gates = write_gates(work / "release")
            training = train_pipeline(
                workspace, data.version, gates=gates, seed=SEED, executor=executor
            )
            tuned = tune_briefly(client, training, seed=SEED, trials=2)
            client.flush()
            store: Any = _Approver(workspace.store, approver)
            released = release(
                training, work / "release", store=store, artifacts=workspace.artifacts
            )
    finally:
        client.close()
        approver.close()
        # Workspace.close leaves the artifact store open (its owner's; noted for them).
        getattr(workspace.artifacts, "close", lambda: None)()
        workspace.close()

    assert released.report.passed, [g.rule for g in released.report.failures]
    assert released.promoted
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['ada']}"})
    with api:
        run = api.get("/api/v1/runs/get-run", params={"run_id": training.run_id}).json()
        assert (run["status"], run["params"]["seed"]) == ("FINISHED", str(SEED))
        runs = api.get("/api/v1/runs/list-runs", params={"limit": 100}).json()
        children = {r["id"] for r in runs if r.get("parent_id") == tuned.parent_run_id}
        assert len(children) == 2 and tuned.parent_run_id in {r["id"] for r in runs}
        metrics = api.get(
            "/api/v1/runs/metric-history", params={"run_id": training.run_id, "key": "roc_auc"}
        )
        assert metrics.status_code == 200, metrics.text
        assert [m["value"] for m in metrics.json()] == [pytest.approx(training.roc_auc)]
        version = api.get("/api/v1/models/get-alias", params={"name": MODEL, "alias": "champion"})
        assert version.status_code == 200, version.text
        body = version.json()
        assert (body["number"], body["run_id"]) == (released.version_number, training.run_id)
        assert body["created_by"] == "eve"
