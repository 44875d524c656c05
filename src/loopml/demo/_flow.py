"""The demo flow: data -> a training pipeline run and tuning -> evaluation, gates, registry,
card -> the closed loop live (serve, stream, drift, detect, retrain by the same pipeline,
canary, promote, recover) -> a cached re-run of the champion's pipeline -> lineage,
readiness, the agent's gauges and the HTML report."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import pandas as pd
from threadpoolctl import threadpool_limits

from loopml.data import DataRepo
from loopml.datasets import TARGET_COLUMN
from loopml.demo._closing import agent_gauges, lineage_story, readiness_items
from loopml.demo._data import DATASET, START, prepare_data
from loopml.demo._figures import over_time, phase_metrics, served_rows, write_report
from loopml.demo._loop import Agent, LoopConfig, LoopRun, run_loop
from loopml.demo._release import APPROVER, MODEL, release, write_gates
from loopml.demo._reproduce import reproduce
from loopml.demo._train import train_pipeline, tune_briefly
from loopml.errors import InvalidInput
from loopml.pipelines import LocalExecutor
from loopml.tracking import TrackingClient
from loopml.workspace import use_workspace

if TYPE_CHECKING:
    from loopml.workspace import Workspace

Progress = Callable[[str], None]

#: The small configuration the tests run (about a minute on 2 cores).
QUICK = {"days": 12, "rows_per_day": 2000, "tune_trials": 1}
QUICK_LOOP = LoopConfig(
    window_rows=400,
    stable_windows=2,
    max_drift_windows=4,
    recovery_windows=3,
    canary_chunk=300,
    canary_interval_s=3.0,
    retrain_days=12,
)


@dataclass(frozen=True)
class DemoResult:
    """What the demo made, for the summary and for tests."""

    rows: int
    fraud_rate: float
    dataset_version: str
    validation_ok: bool
    drift_anomalies: list[str]
    run_id: str
    roc_auc: float
    pr_auc: float
    tune_parent_run_id: str
    tune_trials: int
    tune_best_value: float
    model: str
    model_version: int
    model_semver: str
    gates_passed: bool
    gates_total: int
    gates_failed: list[str]
    promoted: bool
    card_path: str
    report_path: str
    first_pipeline_run_id: str
    pipeline_run_id: str | None
    pipeline_rerun_id: str | None
    pipeline_steps: int
    pipeline_cached_on_rerun: int
    pipeline_rerun_same_version: bool
    serve_url: str
    serve_deployment: str
    serve_requests: int
    serve_errors: int
    serve_p50_ms: float
    serve_p99_ms: float
    serve_requests_per_s: float
    predictions_logged: int
    feedback_labelled: int
    live_accuracy: float | None
    loop: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        """Plain dict (for ``--json``)."""
        return dict(self.__dict__)


def run_demo(
    workspace: Workspace,
    *,
    days: int = 30,
    rows_per_day: int = 2000,
    seed: int = 7,
    tune_trials: int = 4,
    quick: bool = False,
    loop: LoopConfig | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """Run the demo in ``workspace`` and return what it made.

    Args:
        workspace: Where to record everything.
        days: Days of transactions; the last quarter is held out for evaluation.
        rows_per_day: Transactions per day.
        seed: Seed of the generator, the model and the tuner.
        tune_trials: Trials of the short tuning step.
        quick: The small configuration (:data:`QUICK`, :data:`QUICK_LOOP`; the first
            evaluation skips the model analysis, which no gate reads): the whole story in
            about a minute, for tests.
        loop: Sizes of the live loop (default: :class:`LoopConfig`, or the quick one).
        progress: Called with a line of narration as each step starts and ends.
    """
    if quick:
        days, rows_per_day, tune_trials = QUICK["days"], QUICK["rows_per_day"], QUICK["tune_trials"]
    cfg = replace(
        loop or (QUICK_LOOP if quick else LoopConfig()), seed=seed, rows_per_day=rows_per_day
    )
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    store, artifacts = workspace.store, workspace.artifacts
    client = TrackingClient.for_workspace(workspace)
    work = workspace.home / "demo"
    # One worker process for every training pipeline run of the demo (the first champion,
    # the loop's retrain, the re-run): it starts once and keeps its imports warm. One native
    # thread: the demo's tables are small, and on a 2-core laptop with anything else
    # running, OpenMP's spinning threads made fits up to 20x slower.
    with (
        closing(LocalExecutor(max_workers=1)) as executor,
        threadpool_limits(limits=1),
        use_workspace(workspace),
    ):
        try:
            say("1. data: generating, versioning and validating card transactions")
            repo = DataRepo.for_workspace(workspace)
            data = prepare_data(
                repo, work / "data", days=days, rows_per_day=rows_per_day, seed=seed
            )

            say("1. training the fraud model: a training pipeline run, load -> fit -> register")
            gates = write_gates(work / "release")
            training = train_pipeline(
                workspace, data.version, gates=gates, seed=seed, executor=executor
            )
            say(
                f"   pipeline run {training.pipeline_run_id} tracked run {training.run_id}: "
                f"held-out ROC-AUC {training.roc_auc:.3f} (1.0 ranks every fraud above "
                f"every legitimate payment; 0.5 is a coin)"
            )

            say(f"1. tuning briefly ({tune_trials} trials, each a child run)")
            tuned = tune_briefly(client, training, seed=seed, trials=tune_trials)
            client.flush()

            say("1. evaluating against the gates and promoting (one approval)")
            released = release(
                training, work / "release", store=store, artifacts=artifacts, analysis=not quick
            )
            say(
                f"   {MODEL} v{released.version_number}: "
                f"{'promoted to champion' if released.promoted else 'not promoted; failed: '}"
                + ", ".join(g.rule for g in released.report.failures)
            )
        finally:
            client.close()
        if not released.promoted:
            raise InvalidInput(
                "the demo's first model failed its gates ("
                + ", ".join(g.rule for g in released.report.failures)
                + "), so there is no champion for the closed loop to serve",
                hint="Give the demo more data (--days, --rows-per-day) or another --seed.",
            )
        next_day = pd.Timestamp(START) + pd.Timedelta(days=days)
        agent = Agent(workspace, executor)
        with ExitStack() as servers:
            live = run_loop(
                workspace,
                work / "loop",
                start=next_day,
                cfg=cfg,
                approver=APPROVER,
                servers=servers,
                agent=agent,
                say=lambda msg: say(f"   {msg}"),
            )
            say("8. re-running the pipeline that made the champion: it should come from the cache")
            rerun = reproduce(workspace, MODEL, executor)
            say(f"   {rerun.describe()}")
            say("9. scraping the agent's /metrics for the monitor's gauges")
            metrics_url, gauges = agent_gauges(agent.stats, workspace)
        loop_figures = _loop_figures(workspace, live, cfg, released.version_number)
        story = lineage_story(workspace, MODEL)
        ready = readiness_items(workspace, MODEL, work / "release" / f"{MODEL}-champion-card.md")
        loop_figures.update(
            {
                "agent_metrics_url": metrics_url,
                "agent_monitor_gauges": len(gauges),
                "agent_gauge_sample": gauges[:6],
                "lineage": list(story.edges),
                "lineage_reaches_alert": story.reaches_alert,
                "lineage_alert_through_pipeline": story.through_pipeline,
                "champion_after": story.champion,
                "readiness_ok": ready.ok,
                "readiness": [item.to_dict() for item in ready.items],
            }
        )
        timeline = over_time(served_rows(live, workspace), max(cfg.window_rows // 2, 50))
        loop_figures["timeline"] = timeline
        html = write_report(work / "loop" / "demo-report.html", loop_figures, timeline, workspace)
        loop_figures["html_report"] = str(html)
    report = released.report
    stable = loop_figures["phases"].get("before drift", {})  # type: ignore[attr-defined]
    traffic = live.traffic
    latencies = sorted(traffic.sent.latencies_ms) or [float("nan")]
    return DemoResult(
        rows=len(data.frame),
        fraud_rate=float(data.frame[TARGET_COLUMN].mean()),
        dataset_version=f"{DATASET}@v{data.version.seq}",
        validation_ok=data.clean_report.ok,
        drift_anomalies=sorted({a.kind for a in data.drifted_report.anomalies}),
        run_id=training.run_id,
        roc_auc=training.roc_auc,
        pr_auc=training.pr_auc,
        tune_parent_run_id=tuned.parent_run_id,
        tune_trials=len(tuned.trials),
        tune_best_value=tuned.best_value,
        model=MODEL,
        model_version=released.version_number,
        model_semver=released.semver,
        gates_passed=bool(report.passed),
        gates_total=len(report.gates),
        gates_failed=[g.rule for g in report.failures],
        promoted=released.promoted,
        card_path=str(released.card),
        report_path=str(released.report_html),
        first_pipeline_run_id=training.pipeline_run_id,
        pipeline_run_id=rerun.made_by,
        pipeline_rerun_id=rerun.rerun_id,
        pipeline_steps=rerun.steps,
        pipeline_cached_on_rerun=rerun.cached,
        pipeline_rerun_same_version=rerun.same_version,
        serve_url=live.urls.get(live.base_deployment, ""),
        serve_deployment=live.base_deployment,
        serve_requests=traffic.sent.requests,
        serve_errors=traffic.sent.errors,
        serve_p50_ms=latencies[len(latencies) // 2],
        serve_p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        serve_requests_per_s=traffic.sent.requests / max(traffic.sent.busy_s, 1e-9),
        predictions_logged=traffic.cursor,
        feedback_labelled=traffic.sent.labelled,
        live_accuracy=stable.get("accuracy"),
        loop=loop_figures,
        seconds=time.perf_counter() - started,
    )


def _loop_figures(
    workspace: Workspace, live: LoopRun, cfg: LoopConfig, champion_before: int
) -> dict[str, object]:
    """The loop's measured figures (see :mod:`loopml.demo._figures`)."""
    rows = served_rows(live, workspace)
    chain = live.chain
    promoted = chain is not None and chain.outcome == "promoted"
    candidate = chain.output("candidate") if chain is not None else None
    phases = phase_metrics(
        live, rows, before=champion_before, after=int(candidate) if promoted and candidate else None
    )
    detected = live.detected_window
    return {
        "window_rows": cfg.window_rows,
        "deployment": live.base_deployment,
        "champion_before": champion_before,
        "drift_onset_row": live.stream.onset,
        "new_data_version": live.new_version,
        "detected": detected is not None,
        "detected_after_rows": live.detected_rows,
        "detected_after_s": live.detected_s,
        "detected_effects": [] if detected is None else [e.__dict__ for e in detected.drifted],
        "detected_alerts": [] if detected is None else list(detected.alerts),
        "decay_detected_after_rows": live.decay_rows,
        "decay_detected_after_s": live.decay_s,
        "trigger_fired_after_rows": live.fired_rows,
        "false_triggers_before_drift": live.false_triggers,
        "chain_id": None if chain is None else chain.chain_id,
        "chain_outcome": None if chain is None else chain.outcome,
        "chain_steps": [] if chain is None else chain.completed_steps,
        "candidate": candidate,
        "gates_failed_by_candidate": None if chain is None else chain.output("gates_failed"),
        "canary_deployment": live.canary_deployment,
        "canary_ticks": live.canary,
        "approvals": live.approvals,
        "promoted": promoted,
        "promoted_after_rows": live.promoted_rows,
        "promoted_after_s": live.promoted_s,
        "promoted_at_row": None
        if live.promoted_rows is None
        else live.stream.onset + live.promoted_rows,
        "phases": phases,
        "auc_before_drift": phases.get("before drift", {}).get("auc"),
        "auc_after_drift": phases.get("after drift", {}).get("auc"),
        "auc_after_recovery": phases.get("after recovery", {}).get("auc"),
        "accuracy_before_drift": phases.get("before drift", {}).get("accuracy"),
        "accuracy_after_drift": phases.get("after drift", {}).get("accuracy"),
        "accuracy_after_recovery": phases.get("after recovery", {}).get("accuracy"),
        "windows": [f.as_dict() for f in live.monitor.figures],
        "loop_seconds": live.seconds,
    }
