"""The agent's /metrics shows the monitor's gauges once a window is computed (issue 13):
drift per feature, its alarm, the realised metrics; before any window, only the agent's
own counters."""

from __future__ import annotations

import httpx
import numpy as np

import loopml
from loopml import triggers
from loopml.demo._serve import Server
from loopml.monitoring import compute_windows
from loopml.serving import create_app
from tests.triggers import loop_helpers


def _scrape(ws: loopml.Workspace) -> str:
    server = triggers.serve_health(triggers.AgentStats(), 0, workspace=ws)
    try:
        return httpx.get(f"http://127.0.0.1:{server.server_address[1]}/metrics", timeout=30).text
    finally:
        server.shutdown()
        server.server_close()


def test_monitor_gauges_appear_on_the_agent_metrics_after_a_window(
    loop_ws: loopml.Workspace,
) -> None:
    before = _scrape(loop_ws)
    assert "loopml_agent_up 1" in before
    assert "loopml_monitor_drift{" not in before and "loopml_monitor_metric{" not in before

    traffic = loop_helpers.frame(5, rows=300)
    traffic["x1"] += 2.0  # a shifted input: the window drifts on x1, not on x2
    with (
        Server(create_app("models:/fraud/1", workspace=loop_ws)) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        ids = []
        for start in range(0, len(traffic), 10):
            part = traffic.iloc[start : start + 10]
            reply = client.post(
                "/invocations", json={"dataframe_records": part[["x1", "x2"]].to_dict("records")}
            )
            assert reply.status_code == 200, reply.text
            ids += [(reply.headers["x-prediction-id"], row) for row in range(len(part))]
        labels = traffic["y"].astype(int).tolist()
        feedback = [
            {"prediction_id": pid, "row": row, "label": labels[i]}
            for i, (pid, row) in enumerate(ids)
        ]
        assert client.post("/feedback", json=feedback).status_code == 200
    windows = compute_windows(
        "fraud", window="300", reference=loop_helpers.frame(0, rows=2000)[["x1", "x2"]]
    )
    assert windows and windows[-1].complete

    after = _scrape(loop_ws)
    drift = [line for line in after.splitlines() if line.startswith("loopml_monitor_drift{")]
    alarms = {
        line.split('feature="')[1].split('"')[0]: line.rsplit(" ", 1)[1]
        for line in after.splitlines()
        if line.startswith("loopml_monitor_drift_alarm{")
    }
    assert any('feature="x1"' in line for line in drift)
    assert any('model="fraud"' in line and 'version="1"' in line for line in drift)
    assert alarms["x1"] == "1.0" and alarms["x2"] == "0.0"
    accuracy = [
        float(line.rsplit(" ", 1)[1])
        for line in after.splitlines()
        if line.startswith("loopml_monitor_metric{") and 'metric="accuracy"' in line
    ]
    assert accuracy and 0.0 <= accuracy[0] <= 1.0
    assert np.isfinite(accuracy[0])
