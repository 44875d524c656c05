"""The prediction server's own /metrics shows the monitor's newest stored windows of what it
serves (issue 13): per-feature drift effect sizes and alarms and the realised metrics, for
a one-model server and for a deployment's router; another model's windows stay off it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import loopml
from loopml import deploy, registry
from loopml.monitoring import compute_windows
from loopml.serving import create_app, create_deployment_app
from tests.deploy.live_models import ThresholdModel
from tests.serving.test_router import session

ROWS = 300


def _frame(seed: int, rows: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"amount": rng.normal(shift, 1.0, rows), "hour": rng.uniform(0, 23, rows)}
    )  # fmt: skip


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[loopml.Workspace]:
    workspace = loopml.Workspace.open(home=tmp_path / "home")
    for name in ("fraud", "other"):
        registry.register_model(
            name, ThresholdModel(0.0), input_example=_frame(0, 5),
            store=workspace.store, artifacts=workspace.artifacts,
        )  # fmt: skip
    with loopml.use_workspace(workspace):
        yield workspace
    workspace.close()


def _metrics(app: Any) -> str:
    async def scrape(client: httpx.AsyncClient) -> str:
        reply = await client.get("/metrics")
        assert reply.status_code == 200
        return reply.text

    return str(session(app, scrape))


def _serve_shifted_traffic(ws: loopml.Workspace) -> None:
    """Shifted amounts through the one-model server, with their labels fed back."""
    traffic = _frame(7, ROWS, shift=2.0)

    async def send(client: httpx.AsyncClient) -> None:
        feedback = []
        for start in range(0, ROWS, 20):
            part = traffic.iloc[start : start + 20]
            reply = await client.post(
                "/invocations", json={"dataframe_records": part.to_dict("records")}
            )
            assert reply.status_code == 200, reply.text
            pid = reply.headers["x-prediction-id"]
            # the truth is amount > 1: the model's threshold of 0 is wrong on some rows
            truth = (part["amount"] > 1.0).astype(int).tolist()
            feedback += [{"prediction_id": pid, "row": i, "label": t} for i, t in enumerate(truth)]
        assert (await client.post("/feedback", json=feedback)).status_code == 200

    session(create_app("models:/fraud/1", workspace=ws), send)


def _lines(text: str, family: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(family + "{")]


def test_a_servers_metrics_show_the_monitor_windows_of_its_model(ws: loopml.Workspace) -> None:
    before = _metrics(create_app("models:/fraud/1", workspace=ws))
    assert "loopml_serving_requests_total" in before
    assert not _lines(before, "loopml_monitor_drift")

    _serve_shifted_traffic(ws)
    windows = compute_windows("fraud", window=str(ROWS), reference=_frame(1, 4000), workspace=ws)
    assert windows and windows[-1].complete

    after = _metrics(create_app("models:/fraud/1", workspace=ws))
    alarms = {
        line.split('feature="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in _lines(after, "loopml_monitor_drift_alarm")
    }
    assert alarms["amount"] == 1.0 and alarms["hour"] == 0.0
    drift = _lines(after, "loopml_monitor_drift")
    assert all('model="fraud"' in line and 'version="1"' in line for line in drift)
    accuracy = [
        float(line.rsplit(" ", 1)[1])
        for line in _lines(after, "loopml_monitor_metric")
        if 'metric="accuracy"' in line and 'kind="realised"' in line
    ]
    assert len(accuracy) == 1 and 0.5 < accuracy[0] < 1.0  # wrong where 0 < amount <= 1

    # a deployment's router serving fraud/1 shows the model's windows too...
    deploy.create("fraud-live", "fraud/1", workspace=ws)
    routed = _metrics(create_deployment_app("fraud-live", workspace=ws, refresh_s=60))
    assert _lines(routed, "loopml_monitor_drift_alarm") == _lines(
        after, "loopml_monitor_drift_alarm"
    )
    # ...and a server of another model does not
    other = _metrics(create_app("models:/other/1", workspace=ws))
    assert not _lines(other, "loopml_monitor_drift") and not _lines(other, "loopml_monitor_metric")
