"""The demo flow: data -> tracked training and tuning -> evaluation, gates, registry, card."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
from threadpoolctl import threadpool_limits

from loopml.data import DataRepo
from loopml.datasets import TARGET_COLUMN
from loopml.demo._data import DATASET, START, prepare_data
from loopml.demo._pipeline import run_template
from loopml.demo._release import MODEL, release
from loopml.demo._serve import serve_and_stream
from loopml.demo._train import train_tracked, tune_briefly
from loopml.tracking import TrackingClient
from loopml.workspace import use_workspace

if TYPE_CHECKING:
    from loopml.workspace import Workspace

Progress = Callable[[str], None]


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
    pipeline_project: str
    pipeline_run_id: str
    pipeline_steps: int
    pipeline_cached_on_rerun: int
    pipeline_candidate: str
    serve_url: str
    serve_requests: int
    serve_errors: int
    serve_p50_ms: float
    serve_p99_ms: float
    serve_requests_per_s: float
    predictions_logged: int
    feedback_labelled: int
    live_accuracy: float
    seconds: float

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
    serve_rows: int = 400,
    progress: Progress | None = None,
) -> DemoResult:
    """Run the demo in ``workspace`` and return what it made.

    Args:
        workspace: Where to record everything.
        days: Days of transactions; the last quarter is held out for evaluation.
        rows_per_day: Transactions per day.
        seed: Seed of the generator, the model and the tuner.
        tune_trials: Trials of the short tuning step.
        serve_rows: Transactions streamed to the served champion (one request each).
        progress: Called with a short description as each step starts.
    """
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    store, artifacts = workspace.store, workspace.artifacts
    client = TrackingClient.for_workspace(workspace)
    work = workspace.home / "demo"
    # One native thread: the demo's tables are small, and on a 2-core laptop with anything
    # else running, OpenMP's spinning threads made fits up to 20x slower.
    with threadpool_limits(limits=1), use_workspace(workspace):
        try:
            say("generating, versioning and validating a month of card transactions")
            repo = DataRepo.for_workspace(workspace)
            data = prepare_data(
                repo, work / "data", days=days, rows_per_day=rows_per_day, seed=seed
            )

            say("training the fraud model in a tracked run")
            training = train_tracked(client, data.frame, data.version, days=days, seed=seed)

            say(f"tuning briefly ({tune_trials} trials, each a child run)")
            tuned = tune_briefly(client, training, seed=seed, trials=tune_trials)
            client.flush()

            say("evaluating against the gates, registering and promoting")
            released = release(training, work / "release", store=store, artifacts=artifacts)
        finally:
            client.close()
        say("running the training-pipeline template twice (the second run is cached)")
        pipeline = run_template(
            workspace, work / "project", days=days, rows_per_day=rows_per_day, seed=seed
        )
        # The champion when the gates let it through; the registered version otherwise.
        served_uri = (
            f"models:/{MODEL}@champion"
            if released.promoted
            else f"models:/{MODEL}/{released.version_number}"
        )
        say(f"serving {served_uri} on 127.0.0.1 and streaming {serve_rows} transactions")
        next_day = (pd.Timestamp(START) + pd.Timedelta(days=days)).date().isoformat()
        served = serve_and_stream(
            workspace, served_uri, start=next_day, rows=serve_rows, seed=seed + 2
        )
    report = released.report
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
        pipeline_project=str(pipeline.folder),
        pipeline_run_id=pipeline.second_run_id,
        pipeline_steps=pipeline.steps,
        pipeline_cached_on_rerun=pipeline.cached_on_rerun,
        pipeline_candidate=pipeline.candidate,
        serve_url=served.url,
        serve_requests=served.requests,
        serve_errors=served.errors,
        serve_p50_ms=served.p50_ms,
        serve_p99_ms=served.p99_ms,
        serve_requests_per_s=served.requests_per_s,
        predictions_logged=served.logged,
        feedback_labelled=served.labelled,
        live_accuracy=served.live_accuracy,
        seconds=time.perf_counter() - started,
    )
