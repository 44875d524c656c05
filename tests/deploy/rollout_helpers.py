"""Helpers for the controller tests: a workspace with two versions and log traffic."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

import loopml
from loopml import deploy
from loopml.entities import Actor, DeploymentEventKind
from loopml.serving import PredictionLog, PredictionRecord

ANA = Actor("ana", ("approver",))
BEN = Actor("ben", ("approver",))
_IDS = itertools.count()


def seed(ws: loopml.Workspace) -> None:
    """Model ``fraud`` with versions 1 and 2, ``champion`` on 1."""
    from loopml import registry

    ws.store.create_model("fraud", actor="ana")
    for n in (1, 2):
        ws.store.create_model_version(
            "fraud", actor="ana", semver=f"1.{n}.0", manifest_digest=f"{n:064x}",
            payload_digest=f"{n + 100:064x}", flavor="sklearn", model_class="LR",
        )  # fmt: skip
    registry.set_alias("fraud", "champion", 1, store=ws.store, actor=ANA)


Arm = dict[str, Any]
"""How one arm answers: error_rate, latency (ms), score_shift, labels, n."""


def traffic(
    ws: loopml.Workspace,
    name: str,
    since_ms: int,
    span_ms: int,
    arms: dict[str, Arm],
    *,
    seed_: int = 0,
    labels: Callable[[float], float] | None = None,
) -> list[str]:
    """Write log records for each arm within ``[since_ms, since_ms + span_ms)``.

    Returns the prediction ids written (for feedback).
    """
    rng = np.random.default_rng(seed_)
    plog = PredictionLog(ws)
    plog.start()
    ids: list[str] = []
    dep = ws.store.get_deployment(name)
    versions = {a.name: a.version for a in dep.arms}
    try:
        for arm, how in arms.items():
            n = int(how.get("n", 200))
            for i in range(n):
                pid = f"p{next(_IDS)}"
                x = float(rng.normal())
                at = since_ms + 1 + (i * (span_ms - 2)) // max(n, 1)
                failed = rng.random() < how.get("error_rate", 0.0)
                score = float(1 / (1 + np.exp(-x)) + how.get("score_shift", 0.0))
                latency = float(rng.gamma(4.0, how.get("latency", 10.0) / 4.0))
                plog.append(
                    PredictionRecord(
                        pid, at, "fraud", versions.get(arm), name, arm, {"x": np.array([x])},
                        {} if failed else {"proba": np.array([score]),
                                           "predict": np.array([int(score > 0.5)])},
                        latency, "model" if failed else None,
                    )
                )  # fmt: skip
                ids.append(pid)
    finally:
        plog.close()
    return ids


def step_began(ws: loopml.Workspace, name: str) -> int:
    """When the current step (or the last resume) began, unix ms."""
    kinds = (DeploymentEventKind.STEP, DeploymentEventKind.RESUME, DeploymentEventKind.CREATED)
    return [e for e in deploy.history(name, workspace=ws) if e.kind in kinds][-1].at_ms


def measure(
    ws: loopml.Workspace,
    name: str,
    arms: dict[str, Arm],
    *,
    interval_s: float = 10.0,
    seed_: int = 0,
) -> deploy.Tick:
    """Log one measurement window of traffic after the last window and tick past it."""
    events = deploy.history(name, workspace=ws)
    began = step_began(ws, name)
    windows = [
        e for e in events
        if e.kind is DeploymentEventKind.ANALYSIS and e.at_ms >= began
        and e.detail.get("kind") == "canary"
    ]  # fmt: skip
    since = int(windows[-1].detail["until_ms"]) if windows else began
    span = int(interval_s * 1000)
    dep = ws.store.get_deployment(name)
    served = {a.name for a in dep.arms if a.weight > 0}
    traffic(ws, name, since, span, {a: h for a, h in arms.items() if a in served}, seed_=seed_)
    return deploy.step_rollout(name, workspace=ws, now=(since + span + 1) / 1000)
