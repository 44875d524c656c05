"""The closed loop, live: serve, stream, drift, detect, retrain, canary, promote, recover.

The champion is served by the router of deployment ``fraud`` on loopback. The traffic
(:mod:`loopml.demo._traffic`) runs through it in stretches of one monitor window; after
each stretch the monitor computes the new windows and checks the alert rules, and the
agent ticks (:func:`loopml.triggers.tick`: the drift trigger is checked, and a chain it
fires runs in that tick). At ``stream.onset`` the traffic drifts; the newest labelled days
land as a new version of the dataset. The drift trigger fires on the first window the
monitor calls drifted; its chain checks the new data, retrains on it, gates the candidate
against the champion, and canaries it (:mod:`loopml.demo._canary`) until the controller
promotes it and the reviewer approves. The traffic then stays on the promoted version and
the monitor measures the recovery from the labels.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from loopml import deploy, registry, triggers
from loopml.data import DataRepo
from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN, generate_transactions
from loopml.demo import _canary
from loopml.demo._canary import CanaryDriver, Reviewer
from loopml.demo._data import DATASET
from loopml.demo._fraud_pipeline import TARGET as PIPELINE
from loopml.demo._monitor import AUC_BOUND, DECAY_RULE, DRIFT_SHARE, Monitor, WindowFigure
from loopml.demo._traffic import Stream, Traffic, drift_scenario, make_stream
from loopml.errors import NotFound

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import ExitStack
    from pathlib import Path

    from loopml.pipelines import Executor
    from loopml.registry import Actor
    from loopml.workspace import Workspace

MODEL = "fraud"
TRIGGER = "fraud-drift"
DECAY_TRIGGER = "fraud-decay"
HOLDOUT = "transactions-holdout"
LOOP_GATES = """\
metrics:
  roc_auc: {min: 0.75}
no_regression:
  against: champion
  tolerance: {roc_auc: 0.0}
"""


@dataclass(frozen=True)
class LoopConfig:
    """Sizes of the live part of the demo."""

    window_rows: int = 1000
    stable_windows: int = 2
    max_drift_windows: int = 4
    recovery_windows: int = 2
    batch: int = 4
    canary_chunk: int = 400
    canary_interval_s: float = 3.0
    retrain_days: int = 14
    rows_per_day: int = 2000
    strength: float = 0.7
    covariate: bool = True
    seed: int = 7


@dataclass
class LoopRun:
    """What happened, in order, for the figures and the report."""

    stream: Stream
    traffic: Traffic
    monitor: Monitor
    base_deployment: str
    new_version: str = ""
    detected_window: WindowFigure | None = None
    detected_rows: int | None = None
    detected_s: float | None = None
    fired_rows: int | None = None
    decay_rows: int | None = None
    decay_s: float | None = None
    chain: triggers.ChainResult | None = None
    promoted_rows: int | None = None
    promoted_s: float | None = None
    canary: list[dict[str, Any]] = field(default_factory=list)
    canary_deployment: str | None = None
    approvals: list[str] = field(default_factory=list)
    false_triggers: int = 0
    phase_rows: dict[str, tuple[int, int]] = field(default_factory=dict)
    onset_at: float | None = None
    urls: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def _base_deployment(ws: Workspace, champion: int) -> str:
    """``fraud`` the first time; on a home that has it, a name for this champion."""
    for name in (MODEL, f"{MODEL}-v{champion}"):
        try:
            deploy.get(name, workspace=ws)
        except NotFound:
            deploy.create(name, f"{MODEL}@champion", strategy="canary", workspace=ws)
            return name
    return f"{MODEL}-v{champion}"


def _commit_newest(ws: Workspace, folder: Path, start: pd.Timestamp, cfg: LoopConfig) -> str:
    """The labelled days since the change land as the dataset's next version."""
    frame = generate_transactions(
        start=start.date(),
        days=cfg.retrain_days,
        rows_per_day=cfg.rows_per_day,
        seed=cfg.seed + 11,
        drift=drift_scenario(start, strength=cfg.strength, covariate=cfg.covariate),
    )
    path = folder / "transactions-newest.parquet"
    frame.to_parquet(path, index=False)
    repo = DataRepo.for_workspace(ws)
    version = repo.commit(
        DATASET, path, message=f"the {cfg.retrain_days} labelled days since {start.date()}"
    )
    return f"{DATASET}@v{version.seq}"


def _holdout(ws: Workspace, folder: Path, start: pd.Timestamp, cfg: LoopConfig) -> str:
    """The three labelled days after the newest data, versioned: the retrain's held-out
    rows and the chain's evaluation data."""
    frame = generate_transactions(
        start=(start + pd.Timedelta(days=cfg.retrain_days)).date(),
        days=3,
        rows_per_day=cfg.rows_per_day,
        seed=cfg.seed + 13,
        drift=drift_scenario(start, strength=cfg.strength, covariate=cfg.covariate),
    )
    path = folder / "holdout-newest.parquet"
    frame.to_parquet(path, index=False)
    version = DataRepo.for_workspace(ws).commit(
        HOLDOUT, path, message=f"3 labelled days after the {cfg.retrain_days} newest"
    )
    return f"{HOLDOUT}@v{version.seq}"


def _add_trigger(
    ws: Workspace, folder: Path, holdout: str, reviewer: Reviewer, cfg: LoopConfig
) -> None:
    gates = folder / "loop-gates.yaml"
    gates.write_text(LOOP_GATES)
    for name in (TRIGGER, DECAY_TRIGGER):
        try:
            triggers.remove_trigger(name, workspace=ws)  # a demo run earlier on this home
        except NotFound:
            pass
    # Decay is watched too, as a dry run: it records what it would have done, so the drift
    # rule is the one that acts and one retrain answers one change.
    triggers.add_trigger(
        DECAY_TRIGGER,
        "performance",
        MODEL,
        condition={"source": "loopml.demo._monitor:auc_signal", "metric": "auc", "min": 0.75},
        cooldown_s=3600,
        dry_run=True,
        workspace=ws,
    )
    triggers.add_trigger(
        TRIGGER,
        "drift",
        MODEL,
        condition={"source": "loopml.demo._monitor:drift_signal", "threshold": DRIFT_SHARE},
        action={
            "dataset": DATASET,
            "data_param": "data",
            # the training pipeline, on the version check_data accepted (params["data"])
            "pipeline": PIPELINE,
            "params": {
                "holdout": holdout,
                "gates": str(gates),
                "run_name": "demo-retrain",
                "description": "Retrained by the closed loop on the newest labelled data.",
                "seed": cfg.seed,
            },
            "eval_data": holdout,
            "target": TARGET_COLUMN,
            "gates": str(gates),
            "deployment": MODEL,
            "steps": [50, 100],
            "analysis": {
                "interval_s": cfg.canary_interval_s,
                "count": 1,
                # on a busy laptop an interval can catch few canary requests: measure again
                # (Inconclusive) rather than pause the rollout for a person
                "inconclusive_limit": 30,
                # the canary's router starts cold on a busy laptop: judge latency by a loose
                # band (up to twice the stable arm's) and an absolute bound
                "metrics": {
                    "error_rate": {"max": 0.05, "min_samples": 10},
                    "latency_p95": {"tolerance": 1.0, "max": 5000, "min_samples": 10},
                },
            },
            "rollout": "loopml.demo._canary:rollout_tick",
            "poll_s": 0.1,
            "rollout_timeout_s": 120,
            "approval_timeout_s": 120,
            "webhook": {"url": reviewer.url, "secret": reviewer.secret, "retries": 1},
            # The model's features only (transaction and customer ids grow by design); the
            # amounts grew 1.7x, the drift the monitor reported, which puts about a sixth of
            # the new rows beyond 8 robust deviations of the old amounts: allow that much.
            "data_check": {"columns": list(FEATURE_COLUMNS), "max_outlier_fraction": 0.3},
        },
        cooldown_s=3600,
        budget_per_day=5,
        workspace=ws,
    )


class Agent:
    """The agent, one tick at a time (what ``loopml agent --once`` does), with counters."""

    def __init__(self, ws: Workspace, executor: Executor | None = None) -> None:
        self.ws = ws
        self.executor = executor
        self.stats = triggers.AgentStats()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:demo-agent"

    def tick(self) -> triggers.TickResult:
        return triggers.tick(self.ws, owner=self.owner, stats=self.stats, executor=self.executor)


def run_loop(
    ws: Workspace,
    folder: Path,
    *,
    start: pd.Timestamp,
    cfg: LoopConfig,
    approver: Actor,
    servers: ExitStack,
    agent: Agent,
    say: Callable[[str], None],
) -> LoopRun:
    """Run the live part of the demo (see the module docstring)."""
    began = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    champion = registry.get_version(f"{MODEL}@champion", store=ws.store)
    w = cfg.window_rows
    stream = make_stream(
        start,
        stable_rows=cfg.stable_windows * w,
        drifted_rows=(cfg.max_drift_windows + 4) * w
        + 20 * cfg.canary_chunk
        + cfg.recovery_windows * w,
        rows_per_day=cfg.rows_per_day,
        seed=cfg.seed + 2,
        strength=cfg.strength,
        covariate=cfg.covariate,
    )
    traffic = Traffic(stream, batch=cfg.batch, label_delay=w // 2)
    monitor = Monitor(ws, w)
    base = _base_deployment(ws, champion.number)
    run = LoopRun(stream, traffic, monitor, base)
    onset_day = stream.onset_time
    holdout = _holdout(ws, folder, onset_day, cfg)
    reviewer = servers.enter_context(Reviewer(ws, approver))
    _add_trigger(ws, folder, holdout, reviewer, cfg)
    driver = CanaryDriver(ws, traffic, servers, cfg.canary_chunk, say)
    _canary.ACTIVE["driver"] = driver
    try:
        url = driver.serve(base)
        say(
            f"serving {MODEL}@champion (v{champion.number}) through the router of deployment "
            f"{base} on {url}"
        )
        _stable(run, cfg, agent, say)
        run.new_version = _commit_newest(ws, folder, onset_day, cfg)
        changes = [
            *(
                ["amounts x1.7 and 3x the mobile payments (covariate shift)"]
                if cfg.covariate
                else []
            ),
            *(
                [f"a new fraud pattern (concept drift, strength {cfg.strength})"]
                if cfg.strength
                else []
            ),
        ]
        say(
            f"drift begins at row {stream.onset:,}: {' and '.join(changes) or 'nothing changes'};"
            f" the labelled days since land as {run.new_version}"
        )
        _drifting(run, cfg, agent, say)
        if run.chain is not None and run.chain.outcome == "promoted":
            _recovery(run, cfg, say)
        traffic.post_labels()
    finally:
        _canary.ACTIVE.pop("driver", None)
        run.canary = driver.ticks
        run.approvals = list(reviewer.approved)
    run.canary_deployment = next((d for d in driver.routers if d != base), None)
    run.urls = dict(driver.routers)
    run.seconds = time.perf_counter() - began
    return run


def _stretch(run: LoopRun, deployment: str, agent: Agent | None) -> list[WindowFigure]:
    run.traffic.send(run.monitor.window_rows)
    new = run.monitor.cycle(deployment)
    if agent is not None:
        result = agent.tick()
        if result.chains:
            run.chain = result.chains[-1]
    return new


def _describe(fig: WindowFigure) -> str:
    effects = ", ".join(
        f"{e.feature} {e.test} {e.effect:.3f} > threshold {e.threshold:.3f}"
        for e in fig.drifted[:3]
    )
    auc = "n/a" if fig.auc is None else f"{fig.auc:.3f}"
    drift = f"drifted {len(fig.drifted)} inputs ({effects})" if fig.drifted else "no drift"
    return f"window of {fig.rows} rows on {fig.deployment}: {drift}; live ROC-AUC {auc}"


def _stable(run: LoopRun, cfg: LoopConfig, agent: Agent, say: Callable[[str], None]) -> None:
    lo = run.traffic.cursor
    for _ in range(cfg.stable_windows):
        fired_before = agent.stats.fired
        for fig in _stretch(run, run.base_deployment, agent):
            say(_describe(fig))
        run.false_triggers += agent.stats.fired - fired_before
    run.phase_rows["before drift"] = (lo, run.traffic.cursor)


def _drifting(run: LoopRun, cfg: LoopConfig, agent: Agent, say: Callable[[str], None]) -> None:
    lo = run.traffic.cursor
    run.onset_at = time.perf_counter()
    for _ in range(cfg.max_drift_windows):
        fired_before = agent.stats.fired
        run.traffic.send(run.monitor.window_rows)
        for fig in run.monitor.cycle(run.base_deployment):
            say(_describe(fig))
            if run.decay_rows is None and any(a.startswith(DECAY_RULE) for a in fig.alerts):
                run.decay_rows = run.traffic.cursor - run.stream.onset
                run.decay_s = time.perf_counter() - run.onset_at
                say(
                    f"live ROC-AUC under {AUC_BOUND} from the labels so far: decay detected "
                    f"{run.decay_rows:,} rows ({run.decay_s:.1f} s) after the onset"
                )
            if fig.share >= DRIFT_SHARE and run.detected_window is None:
                run.detected_window = fig
                run.detected_rows = run.traffic.cursor - run.stream.onset
                run.detected_s = time.perf_counter() - run.onset_at
                say(
                    f"drift detected {run.detected_rows:,} rows ({run.detected_s:.1f} s) after "
                    f"its onset ({fig.share:.0%} of the inputs drifted, the trigger's bound is "
                    f"{DRIFT_SHARE:.0%}); alerts: {', '.join(fig.alerts) or 'none'}"
                )
        run.phase_rows["after drift"] = (lo, run.traffic.cursor)
        result = agent.tick()
        if agent.stats.fired > fired_before:
            run.fired_rows = run.phase_rows["after drift"][1] - run.stream.onset
        if result.chains:
            run.chain = result.chains[-1]
            run.promoted_rows = run.traffic.cursor - run.stream.onset
            run.promoted_s = time.perf_counter() - run.onset_at
            _tell_chain(run.chain, say)
            return


def _recovery(run: LoopRun, cfg: LoopConfig, say: Callable[[str], None]) -> None:
    target = run.traffic.url
    deployment = next(d for d, u in _canary.ACTIVE["driver"].routers.items() if u == target)
    lo = run.traffic.cursor
    for _ in range(cfg.recovery_windows):
        for fig in _stretch(run, deployment, None):
            say(_describe(fig))
    run.phase_rows["after recovery"] = (lo, run.traffic.cursor)


def _tell_chain(chain: triggers.ChainResult, say: Callable[[str], None]) -> None:
    """What each step of the chain did, from its recorded events."""
    check = chain.output("poisoning") or {}
    items = ", ".join(
        f"{i['name']} {i['value']:.3f} (bound {i['bound']:.3f}) {'ok' if i['ok'] else 'FAILED'}"
        for i in check.get("items", [])
    )
    say(f"check_data on {chain.output('dataset')}: schema ok={chain.output('schema_ok')}; {items}")
    if chain.output("candidate") is not None:
        failed = chain.output("gates_failed") or []
        say(
            f"trained candidate v{chain.output('candidate')}; gates against the champion: "
            f"{'all passed' if not failed else 'failed ' + ', '.join(failed)}"
        )
    if chain.output("approved_request"):
        say(f"promotion approved by the reviewer (request {chain.output('approved_request')})")
    say(
        f"chain {chain.chain_id} ended {chain.outcome} after steps "
        f"{', '.join(chain.completed_steps)}"
    )
