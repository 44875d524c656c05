"""The controller against a real deployment server on loopback (``loopml serve
--deployment NAME``, the router's work, built on another branch).

These run once ``loopml serve`` has ``--deployment``; until then they skip with that
reason. The controller's behaviour itself is tested on a real store and prediction log
in test_controller.py; these add the server: routing by the weights the controller sets,
arms logged by the server, and a weight change picked up without a restart.
MERGER: complete ``test_live_failing_canary_is_rolled_back`` (a model that fails on a
fraction of inputs needs a flavor that can raise; see the router's tests).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import loopml
from loopml import deploy, registry
from loopml.entities import DeploymentStatus
from tests.serving.servers import serving


def _router_available() -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "loopml", "serve", "--help"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return "--deployment" in done.stdout


pytestmark = pytest.mark.skipif(
    not _router_available(),
    reason="`loopml serve --deployment` (the router) is not on this branch yet",
)


def _rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"amount": rng.normal(size=n), "hour": rng.normal(size=n)})


def test_live_good_canary_reaches_100_and_is_promoted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ws = loopml.Workspace.open(home=home)
    x = _rows(200, 0)
    y = (x["amount"] > 0).astype(int)
    for c in (1.0, 0.9):
        registry.register_model(
            "fraud", LogisticRegression(C=c).fit(x, y), input_example=x.head(5),
            store=ws.store, artifacts=ws.artifacts,
        )  # fmt: skip
    registry.set_alias("fraud", "champion", 1, store=ws.store)
    spec = {"interval_s": 2, "metrics": {"error_rate": {"max": 0.05, "min_samples": 5}}}
    deploy.create(
        "fraud", "fraud@champion", candidate="fraud/2", analysis=spec, steps=[50, 100],
        workspace=ws,
    )  # fmt: skip
    with (
        serving("--deployment=fraud", home) as (url, _proc),
        httpx.Client(base_url=url, timeout=10, trust_env=False) as client,
    ):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            rows = _rows(1, int(time.monotonic() * 1000))
            answer = client.post(
                "/invocations", json={"dataframe_records": rows.to_dict(orient="records")}
            )
            assert answer.status_code == 200, answer.text
            tick = deploy.step_rollout("fraud", workspace=ws)
            if tick.done:
                break
            time.sleep(0.02)
    dep = ws.store.get_deployment("fraud")
    assert dep.status is DeploymentStatus.COMPLETED
    assert registry.get_version("fraud@champion", store=ws.store).number == 2
    ws.close()


def test_live_failing_canary_is_rolled_back() -> None:
    pytest.skip("MERGER: needs a model that fails on a fraction of inputs behind the router")
