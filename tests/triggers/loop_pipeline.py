"""Training pipelines for the chain's ``action.pipeline``, importable by the pipeline's
worker processes: ``retrain`` (fit -> register) and ``slow_retrain`` (fit -> hold ->
register, where hold waits until $LOOP_ROLLOUT is ``promote``: an agent is killed meanwhile)."""

from __future__ import annotations

import os
import time

import loopml
from loopml.pipelines import pipeline, step
from tests.triggers.loop_helpers import log_call


@step
def fit(data: str, seed: int) -> str:
    """Fit a logistic regression on dataset version ``data`` in a tracked run."""
    from sklearn.linear_model import LogisticRegression

    from loopml.ids import ObjectKind, ObjectRef
    from loopml.lineage import Relation

    log_call("fit", data=data)
    repo = loopml.data.repo_for()
    frame = loopml.data.load_table(data, repo=repo)
    with loopml.start_run("retrain", params={"data": data, "seed": seed}) as run:
        version = repo.resolve(data)
        run.log_input(ObjectRef(ObjectKind.DATASET_VERSION, version.id), Relation.TRAINED_ON)
        model = LogisticRegression(random_state=seed).fit(frame[["x1", "x2"]], frame["y"])
        run.log_metric("rows", float(len(frame)))
        run.log_model(model, "model", input_example=frame[["x1", "x2"]].head(3))
    return run.id


@step
def register(run_id: str, gates: str) -> int:
    """Register the run's model as the next version of fraud."""
    made = loopml.registry.register_model("fraud", f"runs:/{run_id}/model", gates=gates or None)
    return made.number


@pipeline
def retrain(data: str, gates: str = "", seed: int = 0) -> None:
    """fit -> register."""
    register(fit(data, seed), gates)


@step
def hold(run_id: str) -> str:
    """Wait (at most 20 s) until $LOOP_ROLLOUT is ``promote``; pass the run id on."""
    log_call("hold", pid=os.getpid(), parent=os.getppid())
    deadline = time.monotonic() + 20
    while os.environ.get("LOOP_ROLLOUT") != "promote":
        if time.monotonic() > deadline:
            raise TimeoutError("hold: nobody said promote")
        time.sleep(0.05)
    return run_id


@pipeline
def slow_retrain(data: str, gates: str = "", seed: int = 0) -> None:
    """fit -> hold -> register."""
    register(hold(fit(data, seed)), gates)
