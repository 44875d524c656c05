"""The deployment server in-process (httpx over ASGI, lifespan run): routing by weight,
sticky keys, pinned versions, shadow copies, the arm in the log and the metrics, reloads."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loopml
from loopml import deploy, registry
from loopml.serving import ArmRoute, create_deployment_app, pick, read_predictions
from tests.deploy.live_models import ThresholdModel
from tests.fixtures.cli import Cli

FRAME = pd.DataFrame(
    {"amount": np.linspace(-1.5, 1.5, 31), "hour": np.linspace(0, 23, 31)}
)  # fmt: skip


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[loopml.Workspace]:
    workspace = loopml.Workspace.open(home=tmp_path / "home")
    for model in (
        ThresholdModel(0.0),
        ThresholdModel(0.5),
        ThresholdModel(0.0, broken=str(tmp_path / "broken")),
    ):
        registry.register_model(
            "fraud", model, input_example=FRAME.head(5),
            store=workspace.store, artifacts=workspace.artifacts,
        )  # fmt: skip
    registry.set_alias("fraud", "champion", 1, store=workspace.store)
    with loopml.use_workspace(workspace):
        yield workspace
    workspace.close()


def _rows(values: list[float]) -> dict[str, Any]:
    return {"dataframe_records": [{"amount": v, "hour": 1.0} for v in values]}


def session(app: Any, script: Any) -> Any:
    """Run ``await script(client)`` against ``app`` with its lifespan."""

    async def go() -> Any:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return await script(client)

    return asyncio.run(go())


# -- the routing function --------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 99), st.integers(0, 2**32))
def test_a_split_holds_and_a_key_always_lands_on_the_same_arm(weight: int, seed: int) -> None:
    arms = (ArmRoute("stable", "m", 1, 100 - weight), ArmRoute("canary", "m", 2, weight))
    keys = [f"user-{seed}-{i}" for i in range(4000)]
    chosen = [pick(arms, "dep", k).name for k in keys]
    share = chosen.count("canary") / len(keys)
    assert abs(share - weight / 100) < 4 * (0.25 / len(keys)) ** 0.5 + 1e-9
    assert [pick(arms, "dep", k).name for k in keys[:200]] == chosen[:200]
    rng = random.Random(seed)
    unkeyed = Counter(pick(arms, "dep", None, rng).name for _ in range(4000))
    assert abs(unkeyed["canary"] / 4000 - weight / 100) < 4 * (0.25 / 4000) ** 0.5


def test_two_deployments_split_the_same_keys_independently() -> None:
    arms = (ArmRoute("a", "m", 1, 50), ArmRoute("b", "m", 2, 50))
    keys = [f"k{i}" for i in range(2000)]
    one = [pick(arms, "first", k).name for k in keys]
    two = [pick(arms, "second", k).name for k in keys]
    agree = sum(x == y for x, y in zip(one, two, strict=True)) / len(keys)
    assert 0.45 < agree < 0.55  # independent halves agree about half the time


# -- the server ------------------------------------------------------------------------


def test_requests_split_by_weight_name_their_arm_and_are_logged_with_it(ws) -> None:
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", workspace=ws)
    deploy.set_weights("fraud", {"stable": 50, "canary": 50}, workspace=ws)
    app = create_deployment_app("fraud", workspace=ws, refresh_s=60)

    async def script(client: httpx.AsyncClient) -> list[httpx.Response]:
        out = []
        for i in range(120):
            out.append(
                await client.post(
                    "/invocations", json=_rows([0.25]), headers={"x-prediction-id": f"p{i}"}
                )
            )
        return out

    answers = session(app, script)
    assert all(r.status_code == 200 for r in answers)
    arms = Counter(r.headers["x-loopml-arm"] for r in answers)
    assert set(arms) == {"stable", "canary"} and min(arms.values()) > 30
    for r in answers:  # amount 0.25: version 1 says 1, version 2 (threshold 0.5) says 0
        assert r.json()["predictions"] == [1 if r.headers["x-loopml-arm"] == "stable" else 0]
    frame = read_predictions(deployment="fraud", workspace=ws, with_feedback=False)
    pairs = zip(frame["arm"], frame["version"], strict=True)
    logged = dict(zip(frame["prediction_id"], pairs, strict=True))
    for i, r in enumerate(answers):
        arm = r.headers["x-loopml-arm"]
        assert logged[f"p{i}"] == (arm, 1 if arm == "stable" else 2)


def test_a_sticky_key_keeps_a_caller_on_one_arm_and_oip_names_the_deployment(ws) -> None:
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", strategy="ab", workspace=ws)
    app = create_deployment_app("fraud", workspace=ws, refresh_s=60, prediction_log=False)
    infer = {"inputs": [
        {"name": "amount", "shape": [1], "datatype": "FP64", "data": [0.25]},
        {"name": "hour", "shape": [1], "datatype": "FP64", "data": [1.0]},
    ]}  # fmt: skip

    async def script(client: httpx.AsyncClient) -> dict[str, Any]:
        per_user: dict[str, set[str]] = {}
        for user in range(40):
            for _ in range(5):
                r = await client.post(
                    "/v2/models/fraud/infer", json=infer, headers={"x-loopml-key": f"u{user}"}
                )
                assert r.status_code == 200, r.text
                assert r.json()["model_name"] == "fraud"
                version = r.json()["model_version"]
                assert version == ("1" if r.headers["x-loopml-arm"] == "stable" else "2")
                per_user.setdefault(f"u{user}", set()).add(r.headers["x-loopml-arm"])
        other = await client.post("/v2/models/other/infer", json=infer)
        pinned = await client.post("/v2/models/fraud/versions/2/infer", json=infer)
        missing = await client.post("/v2/models/fraud/versions/9/infer", json=infer)
        meta = await client.get("/v2/models/fraud")
        status = await client.get("/deployment")
        return {
            "per_user": per_user, "other": other, "pinned": pinned, "missing": missing,
            "meta": meta, "status": status,
        }  # fmt: skip

    got = session(app, script)
    assert all(len(arms) == 1 for arms in got["per_user"].values())
    assert {a for arms in got["per_user"].values() for a in arms} == {"stable", "treatment"}
    assert got["other"].status_code == 404 and got["other"].json()["field"] == "name"
    assert got["pinned"].status_code == 200 and got["pinned"].headers["x-loopml-arm"] == "treatment"
    assert got["missing"].status_code == 404 and "1, 2" in got["missing"].json()["hint"]
    assert got["meta"].json()["versions"] == ["1", "2"]
    status = got["status"].json()
    assert status["strategy"] == "ab" and [a["weight"] for a in status["arms"]] == [50, 50]


def test_a_field_named_by_the_ab_spec_is_the_sticky_key(ws) -> None:
    deploy.create(
        "fraud", "fraud@champion", candidate="fraud/2", strategy="ab",
        analysis={"ab": {"key": "hour", "min_samples": 10}}, workspace=ws,
    )  # fmt: skip
    app = create_deployment_app("fraud", workspace=ws, refresh_s=60, prediction_log=False)

    async def script(client: httpx.AsyncClient) -> dict[float, set[str]]:
        seen: dict[float, set[str]] = {}
        for hour in range(24):
            for amount in (-1.0, 0.0, 1.0):
                rows = {"dataframe_records": [{"amount": amount, "hour": float(hour)}]}
                r = await client.post("/invocations", json=rows)
                seen.setdefault(float(hour), set()).add(r.headers["x-loopml-arm"])
        return seen

    seen = session(app, script)
    assert all(len(arms) == 1 for arms in seen.values())
    assert {a for arms in seen.values() for a in arms} == {"stable", "treatment"}


def test_a_shadow_never_changes_the_answer_and_is_logged_beside_it(ws) -> None:
    values = [float(v) for v in np.linspace(-1, 1, 21)]

    async def script(client: httpx.AsyncClient) -> list[bytes]:
        bodies = []
        for i, v in enumerate(values):
            r = await client.post(
                "/invocations", json=_rows([v]), headers={"x-prediction-id": f"s{i}"}
            )
            assert r.status_code == 200 and r.headers["x-loopml-arm"] == "stable"
            bodies.append(r.content)
        await asyncio.sleep(0.3)  # the shadow copies are answered off the request path
        return bodies

    deploy.create("plain", "fraud@champion", workspace=ws)
    plain = session(create_deployment_app("plain", workspace=ws, refresh_s=60), script)
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", strategy="shadow", workspace=ws)
    shadowed = session(create_deployment_app("fraud", workspace=ws, refresh_s=60), script)
    assert shadowed == plain  # byte for byte
    frame = read_predictions(deployment="fraud", workspace=ws, with_feedback=False)
    by_arm = {arm: part.set_index("prediction_id") for arm, part in frame.groupby("arm")}
    assert set(by_arm) == {"stable", "shadow"}
    assert sorted(by_arm["shadow"].index) == sorted(by_arm["stable"].index)
    disagree = (by_arm["stable"]["out.predict"] != by_arm["shadow"]["out.predict"]).sum()
    assert disagree == sum(0 < v <= 0.5 for v in values)  # thresholds 0 and 0.5
    report = deploy.shadow_report("fraud", workspace=ws)
    assert report.paired_rows == len(values) and report.disagreements == disagree
    assert report.agreement_rate == pytest.approx(1 - disagree / len(values))


def test_a_version_that_fails_its_warm_up_gets_no_traffic_and_says_why(ws, tmp_path) -> None:
    (tmp_path / "broken").touch()
    deploy.create("fraud", "fraud@champion", candidate="fraud/3", strategy="bluegreen",
                  workspace=ws)  # fmt: skip
    deploy.advance("fraud", workspace=ws)  # green (the broken version) takes 100 %
    app = create_deployment_app("fraud", workspace=ws, refresh_s=60, prediction_log=False)

    async def script(client: httpx.AsyncClient) -> tuple[list[httpx.Response], Any, str]:
        answers = [await client.post("/invocations", json=_rows([0.1])) for _ in range(10)]
        status = (await client.get("/deployment")).json()
        metrics = (await client.get("/metrics")).text
        return answers, status, metrics

    answers, status, metrics = session(app, script)
    assert all(r.status_code == 200 and r.headers["x-loopml-arm"] == "stable" for r in answers)
    green = next(a for a in status["arms"] if a["name"] == "green")
    assert green["weight"] == 100 and green["effective_weight"] == 0 and not green["ready"]
    assert "this version is broken" in green["error"]
    ready = 'loopml_serving_arm_ready{arm="green",deployment="fraud",model="fraud",version="3"}'
    assert f"{ready} 0.0" in metrics


def test_a_new_revision_is_picked_up_without_a_restart(ws) -> None:
    deploy.create("fraud", "fraud@champion", candidate="fraud/2", workspace=ws)
    app = create_deployment_app("fraud", workspace=ws, refresh_s=0.05)

    async def script(client: httpx.AsyncClient) -> dict[str, Any]:
        before = [await client.post("/invocations", json=_rows([0.25])) for _ in range(20)]
        await asyncio.to_thread(
            deploy.set_weights, "fraud", {"stable": 0, "canary": 100}, workspace=ws
        )
        await asyncio.sleep(0.5)
        after = [await client.post("/invocations", json=_rows([0.25])) for _ in range(20)]
        metrics = (await client.get("/metrics")).text
        return {"before": before, "after": after, "metrics": metrics}

    got = session(app, script)
    assert {r.headers["x-loopml-arm"] for r in got["before"]} == {"stable"}
    assert {r.headers["x-loopml-arm"] for r in got["after"]} == {"canary"}
    metrics = got["metrics"]
    assert 'loopml_serving_deployment_revision{deployment="fraud"} 2.0' in metrics
    assert (
        'loopml_serving_arm_requests_total{arm="canary",code="200",deployment="fraud",'
        'model="fraud",version="2"} 20.0'
    ) in metrics
    assert "loopml_serving_prediction_log_queue " in metrics


def test_a_deployment_that_does_not_exist_stops_the_command(ws, run_cli: Cli) -> None:
    home = ["--home", str(ws.home)]
    done = run_cli(*home, "serve", "--deployment", "nope", "--port", "0")
    assert done.returncode == 2 and "nope" in done.stdout + done.stderr
    both = run_cli(*home, "serve", "models:/fraud/1", "--deployment", "fraud")
    assert both.returncode == 2 and "exactly one" in both.stdout + both.stderr
