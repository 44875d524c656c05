"""A real Prometheus (Debian's, started here) scrapes a running `loopml serve`, whose
/metrics carries the monitor's gauges of its model's stored window, evaluates the generated
rules, and answers PromQL over HTTP."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import httpx
import pytest

from loopml.entities import MonitorWindow
from loopml.ids import new_id
from loopml.monitoring import RuleOptions, rules_yaml
from tests.monitoring.prom import binary, prometheus, query
from tests.serving.servers import serving

BUDGET_S = 30.0


@pytest.fixture
def model_home(tmp_path: Path) -> Path:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from loopml import Workspace
    from loopml.registry import register_model

    rng = np.random.default_rng(0)
    x = pd.DataFrame({c: rng.normal(size=60) for c in ("amount", "hour")})
    y = (x["amount"] > 0).astype(int)
    home = tmp_path / "home"
    with Workspace.open(home=home) as ws:
        register_model(
            "clf", LogisticRegression().fit(x, y), input_example=x.head(3),
            store=ws.store, artifacts=ws.artifacts,
        )  # fmt: skip
        # a monitored window of the deployment serving clf/1: amount drifted, hour did not
        window = MonitorWindow(
            id=new_id(), scope="deployment:fraud", plan="1000", start_ms=0, end_ms=1, rows=1000,
            complete=True, drifted=True, model="clf", version=1, deployment="fraud",
            drift={
                "amount": {"drifted": True, "effects": {"psi": 0.42}},
                "hour": {"drifted": False, "effects": {"psi": 0.01}},
            },
        )  # fmt: skip
        ws.store.put_monitor_window(window, actor="test")
    return home


def _poll(url: str, promql: str, deadline: float) -> list[dict]:
    while time.monotonic() < deadline:
        result = query(url, promql)
        if result and all(math.isfinite(float(r["value"][1])) for r in result):
            return result
        time.sleep(0.25)
    raise AssertionError(f"no finite answer to {promql!r} within the budget")


def test_prometheus_scrapes_serve_and_answers_promql(model_home: Path, tmp_path: Path) -> None:
    binary("prometheus")
    (tmp_path / "prom").mkdir()
    (tmp_path / "prom" / "rules.yml").write_text(rules_yaml("fraud", RuleOptions(range="10s")))
    with serving("models:/clf/1", model_home, "--no-log") as (url, _proc):
        start = time.monotonic()  # the budget covers Prometheus, not the model's start
        target = url.removeprefix("http://")
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": ["rules.yml"],
            "scrape_configs": [
                {
                    # the server's own labels win once it sets them; until then these fill in
                    "job_name": "fraud",
                    "honor_labels": True,
                    "static_configs": [
                        {"targets": [target], "labels": {"deployment": "fraud", "arm": "stable"}}
                    ],
                },
            ],
        }
        stop = threading.Event()
        statuses: list[int] = []

        def traffic() -> None:
            body = {"dataframe_split": {"columns": ["amount", "hour"], "data": [[0.5, -1.0]]}}
            with httpx.Client(base_url=url, timeout=5, trust_env=False) as client:
                while not stop.is_set():
                    statuses.append(client.post("/invocations", json=body).status_code)
                    time.sleep(0.02)

        sender = threading.Thread(target=traffic, daemon=True)
        sender.start()
        try:
            with prometheus(tmp_path / "prom", config) as prom:
                deadline = start + BUDGET_S
                p95 = _poll(
                    prom,
                    "histogram_quantile(0.95, sum by (le) (rate("
                    'loopml_serving_request_duration_seconds_bucket{endpoint="invocations"}[5s])))',
                    deadline,
                )
                assert 0 < float(p95[0]["value"][1]) < 5
                drift = _poll(prom, 'loopml_monitor_drift{feature="amount"}', deadline)
                assert float(drift[0]["value"][1]) == pytest.approx(0.42)
                assert drift[0]["metric"]["deployment"] == "fraud"
                alarm = _poll(prom, "max by (feature) (loopml_monitor_drift_alarm) > 0", deadline)
                assert [a["metric"]["feature"] for a in alarm] == ["amount"]
                # the generated recording rule, evaluated by Prometheus itself
                p99 = _poll(
                    prom,
                    'deployment_arm:loopml_serving_request_duration_seconds:p99_10s{deployment="fraud"}',
                    deadline,
                )
                assert p99[0]["metric"]["arm"] == "stable"
                assert 0 < float(p99[0]["value"][1]) < 5
        finally:
            stop.set()
            sender.join(10)
        assert statuses and set(statuses) == {200}
