"""The router as a real process on loopback (``loopml serve --deployment NAME``) under load:
a blue-green switch and switch-back with no failed request, and a server killed mid-rollout
that comes back routing by the stored state."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd
import pytest

import loopml
from loopml import deploy, registry
from tests.deploy.live_models import ThresholdModel
from tests.serving.servers import serving

EXAMPLE = pd.DataFrame({"amount": [-1.0, 0.0, 0.25, 1.0], "hour": [1.0, 2.0, 3.0, 4.0]})
BODY = {"dataframe_records": [{"amount": 0.25, "hour": 1.0}]}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    with loopml.Workspace.open(home=home) as ws:
        for threshold in (0.0, 0.5):
            registry.register_model(
                "fraud", ThresholdModel(threshold), input_example=EXAMPLE,
                store=ws.store, artifacts=ws.artifacts,
            )  # fmt: skip
        registry.set_alias("fraud", "champion", 1, store=ws.store)
    return home


@contextmanager
def traffic(url: str, clients: int = 4) -> Iterator[list[tuple[float, int, str]]]:
    """Clients posting back to back; yields the (time, status, arm) of every answer."""
    seen: list[tuple[float, int, str]] = []
    stop = threading.Event()

    def run() -> None:
        with httpx.Client(base_url=url, timeout=10, trust_env=False) as client:
            while not stop.is_set():
                try:
                    r = client.post("/invocations", json=BODY)
                    seen.append(
                        (time.monotonic(), r.status_code, r.headers.get("x-loopml-arm", ""))
                    )
                except httpx.HTTPError as exc:  # a dropped connection is a failed request
                    seen.append((time.monotonic(), 0, type(exc).__name__))

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield seen
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)


def wait_for_arm(seen: list[tuple[float, int, str]], arm: str, since: float) -> float:
    """When answers after ``since`` came only from ``arm`` for 0.5 s (the switch time)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        later = [s for s in list(seen) if s[0] > since]
        # a request that started on the old arm may finish after the first one on the new
        # arm: the switch is done after the last answer from any other arm
        others = [t for t, _code, a in later if a != arm]
        settled = [t for t, _code, _a in later if t > max(others, default=since)]
        if settled and later[-1][0] - settled[0] > 0.5:
            return settled[0]
        time.sleep(0.05)
    raise AssertionError(f"the server did not switch to {arm!r} within 30 s")


def test_blue_green_switches_and_switches_back_with_no_failed_request(home: Path) -> None:
    ws = loopml.Workspace.open(home=home)
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", strategy="bluegreen",
                  workspace=ws)  # fmt: skip
    with serving("--deployment=fraud", home, "--refresh-s", "0.2") as (url, _proc):
        status = httpx.get(f"{url}/deployment", trust_env=False).json()
        assert [a["ready"] for a in status["arms"]] == [True, True]  # green is warm already
        with traffic(url) as seen:
            time.sleep(0.5)
            switched = time.monotonic()
            deploy.advance("fraud", workspace=ws)  # the full switch, in one step
            wait_for_arm(seen, "green", switched)
            back = time.monotonic()
            deploy.rollback("fraud", reason="switch back", workspace=ws)
            wait_for_arm(seen, "stable", back)
    failed = [s for s in seen if s[1] != 200]
    assert not failed, failed[:5]
    arms = [a for _t, _c, a in seen]
    assert arms[0] == "stable" and "green" in arms and arms[-1] == "stable"
    ws.close()


def test_a_server_killed_mid_rollout_comes_back_routing_by_the_store(home: Path) -> None:
    ws = loopml.Workspace.open(home=home)
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", steps=[50, 100], workspace=ws)
    deploy.advance("fraud", workspace=ws)  # 50 %
    with serving("--deployment=fraud", home) as (url, proc):
        with httpx.Client(base_url=url, timeout=10, trust_env=False) as client:
            arms = {
                client.post("/invocations", json=BODY).headers["x-loopml-arm"] for _ in range(60)
            }
        assert arms == {"stable", "canary"}
        proc.kill()
        proc.wait(10)
    deploy.advance("fraud", workspace=ws)  # the rollout goes on while the server is down
    with serving("--deployment=fraud", home) as (url, _proc):
        with httpx.Client(base_url=url, timeout=10, trust_env=False) as client:
            status = client.get("/deployment").json()
            arms = {
                client.post("/invocations", json=BODY).headers["x-loopml-arm"] for _ in range(30)
            }
    assert status["revision"] == ws.store.get_deployment("fraud").revision
    assert [a["weight"] for a in status["arms"]] == [0, 100] and arms == {"canary"}
    ws.close()


def test_a_candidate_that_cannot_load_does_not_stop_the_server(tmp_path: Path) -> None:
    home, gate = tmp_path / "home", tmp_path / "broken"
    with loopml.Workspace.open(home=home) as ws:
        for model in (ThresholdModel(0.0), ThresholdModel(0.0, broken=str(gate))):
            registry.register_model(
                "fraud", model, input_example=EXAMPLE, store=ws.store, artifacts=ws.artifacts
            )
        registry.set_alias("fraud", "champion", 1, store=ws.store)
        deploy.create("fraud", "fraud@champion", candidate="fraud/2", workspace=ws)
        deploy.set_weights("fraud", {"stable": 50, "canary": 50}, workspace=ws)
    gate.touch()
    with serving("--deployment=fraud", home) as (url, proc):
        with httpx.Client(base_url=url, timeout=10, trust_env=False) as client:
            arms = {
                client.post("/invocations", json=BODY).headers["x-loopml-arm"] for _ in range(20)
            }
            canary = client.get("/deployment").json()["arms"][1]
        proc.terminate()
        printed = proc.communicate(timeout=30)[0]
    assert arms == {"stable"} and canary["ready"] is False
    assert "arm canary (fraud/2) cannot be served and gets no traffic" in printed
