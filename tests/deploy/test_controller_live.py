"""The controller against a real deployment server on loopback (``loopml serve
--deployment NAME``).

The controller's behaviour itself is tested on a real store and prediction log
in test_controller.py; these add the server: routing by the weights the controller sets,
arms logged by the server, and a weight change picked up without a restart, with the
generator's transactions as the traffic.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sklearn.linear_model import LogisticRegression

import loopml
from loopml import deploy, registry
from loopml.datasets import TARGET_COLUMN, generate_transactions
from loopml.entities import DeploymentStatus
from tests.deploy.live_models import ThresholdModel
from tests.serving.servers import serving

COLUMNS = ["amount", "hour", "customer_age", "txn_count_24h", "distance_from_home_km"]
#: The generator's card transactions: training rows, then the traffic stream.
TRAIN = generate_transactions(days=2, rows_per_day=500, seed=1)[COLUMNS + [TARGET_COLUMN]]
STREAM = generate_transactions(days=2, rows_per_day=2000, seed=2)[COLUMNS]


def _traffic() -> Iterator[dict[str, Any]]:
    """One request body per generated transaction, in time order, round and round."""
    records = STREAM.to_dict(orient="records")
    while True:
        for record in records:
            yield {"dataframe_records": [record]}


def test_live_good_canary_reaches_100_and_is_promoted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ws = loopml.Workspace.open(home=home)
    x, y = TRAIN[COLUMNS], TRAIN[TARGET_COLUMN]
    for c in (1.0, 0.9):
        registry.register_model(
            "fraud", LogisticRegression(C=c).fit(x, y), input_example=x.head(5),
            store=ws.store, artifacts=ws.artifacts,
        )  # fmt: skip
    registry.set_alias("fraud", "champion", 1, store=ws.store)
    spec = {
        "interval_s": 2,
        "inconclusive_limit": 20,
        "metrics": {"error_rate": {"max": 0.05, "min_samples": 5}},
    }
    deploy.create(
        "fraud", "fraud@champion", candidate="fraud/2", analysis=spec, steps=[50, 100],
        workspace=ws,
    )  # fmt: skip
    with (
        serving("--deployment=fraud", home) as (url, _proc),
        httpx.Client(base_url=url, timeout=10, trust_env=False) as client,
    ):
        deadline = time.monotonic() + 120
        traffic = _traffic()
        while time.monotonic() < deadline:
            answer = client.post("/invocations", json=next(traffic))
            assert answer.status_code == 200, answer.text
            tick = deploy.step_rollout("fraud", workspace=ws)
            if tick.done:
                break
            time.sleep(0.02)
    dep = ws.store.get_deployment("fraud")
    assert dep.status is DeploymentStatus.COMPLETED
    assert registry.get_version("fraud@champion", store=ws.store).number == 2
    ws.close()


def test_live_failing_canary_is_rolled_back(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ws = loopml.Workspace.open(home=home)
    x = TRAIN[COLUMNS]
    # version 2 raises on transactions over 150 (about 10 % of the generator's traffic)
    for model in (ThresholdModel(100.0), ThresholdModel(100.0, fail_above=150.0)):
        registry.register_model(
            "fraud", model, input_example=x[x["amount"] < 150].head(5),
            store=ws.store, artifacts=ws.artifacts,
        )  # fmt: skip
    registry.set_alias("fraud", "champion", 1, store=ws.store)
    spec = {
        "interval_s": 2,
        "inconclusive_limit": 20,
        "metrics": {"error_rate": {"max": 0.05, "min_samples": 10}},
    }
    deploy.create(
        "fraud", "fraud@champion", candidate="fraud/2", analysis=spec, steps=[50, 100],
        workspace=ws,
    )  # fmt: skip
    served_by: dict[str, int] = {}
    with (
        serving("--deployment=fraud", home, "--refresh-s", "0.2") as (url, _proc),
        httpx.Client(base_url=url, timeout=10, trust_env=False) as client,
    ):
        deadline = time.monotonic() + 120
        traffic = _traffic()
        tick = deploy.step_rollout("fraud", workspace=ws)
        while time.monotonic() < deadline and not tick.done:
            answer = client.post("/invocations", json=next(traffic))
            arm = answer.headers["x-loopml-arm"]
            served_by[arm] = served_by.get(arm, 0) + 1
            assert answer.status_code == 200 or arm == "canary", answer.text
            tick = deploy.step_rollout("fraud", workspace=ws)
            time.sleep(0.02)
        assert tick.done
        time.sleep(0.6)  # the server picks up the rollback
        big = {"dataframe_records": [{**STREAM.iloc[0].to_dict(), "amount": 500.0}]}
        after = [client.post("/invocations", json=big) for _ in range(20)]
    dep = ws.store.get_deployment("fraud")
    assert dep.status is DeploymentStatus.ROLLED_BACK and "error_rate" in dep.reason
    assert served_by.get("canary", 0) > 0
    assert all(r.status_code == 200 and r.headers["x-loopml-arm"] == "stable" for r in after)
    assert registry.get_version("fraud@champion", store=ws.store).number == 1
    ws.close()
