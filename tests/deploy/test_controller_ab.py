"""A/B decisions: outcomes from feedback, the sequential test per look, the ratio check.

The end-to-end cases run on a real store and prediction log. The A/A false-positive rate
is measured on simulated log frames through the same decision function the controller
calls (``ab_look``, chained over looks as the controller chains its stored looks).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loopml
from loopml import deploy, registry
from loopml.deploy import AbSpec, ab_look
from loopml.entities import DeploymentEventKind, DeploymentStatus
from loopml.serving import log_feedback
from tests.deploy.rollout_helpers import ANA, seed, traffic
from tests.fixtures.cli import Cli

SPEC = {"interval_s": 10, "ab": {"metric": "converted", "min_samples": 200}}


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[loopml.Workspace]:
    workspace = loopml.Workspace.open(home=tmp_path / "home").derive(actor=ANA)
    seed(workspace)
    with loopml.use_workspace(workspace):
        yield workspace
    workspace.close()


def _outcomes(ws: loopml.Workspace, ids: list[str], rate: float, seed_: int) -> None:
    rng = np.random.default_rng(seed_)
    items = [{"prediction_id": p, "label": {"converted": int(rng.random() < rate)}} for p in ids]
    log_feedback(items, workspace=ws)


def _ab_traffic(
    ws: loopml.Workspace, rates: dict[str, float], n: dict[str, int], seed_: int
) -> None:
    now = ws.store.get_deployment("split").created_at_ms
    for i, (arm, rate) in enumerate(rates.items()):
        ids = traffic(ws, "split", now + 1, 5000, {arm: {"n": n[arm]}}, seed_=seed_ + i)
        _outcomes(ws, ids, rate, seed_ + 10 + i)


def test_a_known_effect_is_found_and_promoted(
    ws: loopml.Workspace, run_cli: Cli, tmp_path: Path
) -> None:
    deploy.create("split", "fraud@champion", strategy="ab", candidate="fraud/2", analysis=SPEC)
    _ab_traffic(ws, {"stable": 0.10, "treatment": 0.20}, {"stable": 1500, "treatment": 1500}, 1)
    status = run_cli("--home", str(ws.home), "deploy", "status", "split", "--json")
    assert status.returncode == 0, status.stderr
    ab = json.loads(status.stdout)["ab"]
    assert ab["arms"]["stable"]["requests"] == 1500 and ab["arms"]["treatment"]["n"] == 1500
    assert ab["decision"] == "promote" and ab["result"]["lower"] > 0
    assert ab["srm"]["mismatch"] is False and ab["looks"] == 0
    tick = deploy.step_rollout("split", now=4e9)
    assert tick.action == "promote" and tick.done
    assert registry.get_version("fraud@champion").number == 2
    looks = [e for e in deploy.history("split") if e.kind is DeploymentEventKind.ANALYSIS]
    assert looks[-1].detail["status"]["result"]["estimate"] == pytest.approx(0.1, abs=0.04)


def test_no_decision_before_the_minimum_sample(ws: loopml.Workspace) -> None:
    deploy.create("split", "fraud@champion", strategy="ab", candidate="fraud/2", analysis=SPEC)
    _ab_traffic(ws, {"stable": 0.1, "treatment": 0.5}, {"stable": 100, "treatment": 100}, 2)
    tick = deploy.step_rollout("split", now=4e9)
    assert tick.action == "measure" and "minimum sample" in tick.reason
    assert deploy.step_rollout("split", now=4e9 + 1).action == "wait"  # next look later
    assert deploy.get("split").status is DeploymentStatus.ACTIVE


def test_a_broken_split_is_flagged_and_pauses(ws: loopml.Workspace) -> None:
    deploy.create("split", "fraud@champion", strategy="ab", candidate="fraud/2", analysis=SPEC)
    _ab_traffic(ws, {"stable": 0.1, "treatment": 0.3}, {"stable": 600, "treatment": 400}, 3)
    tick = deploy.step_rollout("split", now=4e9)
    assert tick.action == "pause"
    dep = deploy.get("split")
    assert dep.status is DeploymentStatus.PAUSED and "sample ratio mismatch" in dep.reason
    assert registry.get_version("fraud@champion").number == 1


def _frame(arms: dict[str, np.ndarray]) -> pd.DataFrame:
    parts = []
    for arm, outcomes in arms.items():
        n = len(outcomes)
        parts.append(
            pd.DataFrame({
                "prediction_id": [f"{arm}{i}" for i in range(n)], "row": 0, "arm": arm,
                "error": None, "label": list(outcomes.astype(float)), "label_updates": 1,
            })
        )  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def test_aa_false_positive_rate_stays_below_alpha_with_a_look_per_batch() -> None:
    """200 simulated A/A experiments, 8 looks of 150 units per arm each, alpha 0.05."""
    rng = np.random.default_rng(7)
    spec = AbSpec(metric="label", alpha=0.05, min_samples=100)
    experiments, looks, batch, rate = 200, 8, 150, 0.2
    ours = naive = 0
    for _ in range(experiments):
        a = (rng.random(looks * batch) < rate).astype(float)
        b = (rng.random(looks * batch) < rate).astype(float)
        previous, decided, naive_hit = None, False, False
        for k in range(1, looks + 1):
            n = k * batch
            status = ab_look(
                _frame({"stable": a[:n], "treatment": b[:n]}), {"stable": 50, "treatment": 50},
                spec, control="stable", treatment="treatment", previous=previous,
            )  # fmt: skip
            previous = status.result
            decided = decided or status.decision in ("promote", "keep")
            se = np.sqrt(a[:n].var(ddof=1) / n + b[:n].var(ddof=1) / n)
            naive_hit = naive_hit or abs(b[:n].mean() - a[:n].mean()) / se > 1.96
        ours += decided
        naive += naive_hit
    print(f"A/A false positives: mixture SPRT {ours}/{experiments}, naive z {naive}")
    assert ours / experiments <= 0.05
    assert naive / experiments > ours / experiments  # the repeated z-test, measured beside
