"""The retraining pipeline, rollout driver and drift source of the browser home's loop.

The home's trigger (kind ``drift``) reads the stored firing alert through
:func:`drift_signal`; its chain runs :func:`retrain` (load the data, count its rows, train a
tracked run and register its model), evaluates, canaries with :func:`healthy_canary` and
promotes. The steps print and log, so the pipeline page has step logs to show.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

import loopml
from loopml import deploy, registry

MODEL = "fraud"
_log = logging.getLogger("tests.browser.retrain")


@loopml.step
def load(dataset: str) -> pd.DataFrame:
    table = loopml.data.load_table(dataset)
    print(f"loaded {len(table)} rows of {dataset}")
    return table


@loopml.step
def rows(table: pd.DataFrame) -> int:
    return len(table)


@loopml.step(cache=False)
def train(table: pd.DataFrame, n_rows: int, dataset: str, max_iter: int, gates: str) -> int:
    """Train the demo's model in a tracked run on ``dataset`` and register it (one step, so
    sklearn and the model format load in one worker process); return the version number."""
    from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN
    from loopml.demo._train import fraud_model, split_by_time
    from loopml.ids import ObjectKind, ObjectRef
    from loopml.lineage import Relation

    train_rows, test = split_by_time(table, 8)
    features = list(FEATURE_COLUMNS)
    version = loopml.data.repo_for().resolve(dataset)
    with loopml.start_run("retrain", params={"max_iter": max_iter}) as run:
        run.log_input(
            ObjectRef(ObjectKind.DATASET_VERSION, version.id), relation=Relation.TRAINED_ON
        )
        model = fraud_model(table, max_iter=max_iter)
        model.fit(train_rows[features], train_rows[TARGET_COLUMN])
        accuracy = float(model.score(test[features], test[TARGET_COLUMN]))
        run.log_metrics({"accuracy": accuracy})
        _log.info("trained on %d of %d rows: accuracy %.3f", len(train_rows), n_rows, accuracy)
        uri = run.log_model(model, MODEL, input_example=test[features].head(5)).uri
    registered = registry.register_model(
        MODEL, uri, gates=gates, description=f"retrained on {n_rows} rows of {dataset}"
    )
    print(f"registered {MODEL} v{registered.number}")
    return registered.number


@loopml.pipeline
def retrain(dataset: str = "", max_iter: int = 5, gates: str = "") -> None:
    table = load(dataset)
    train(table, rows(table), dataset, max_iter, gates)


def drift_signal(trigger: Any, workspace: Any) -> dict[str, Any]:
    """The drift trigger's source: the newest firing drift alert on the trigger's model."""
    firing = [
        a
        for a in workspace.store.list_alerts(limit=50)
        if a.model == trigger.model
        and a.kind == "drift"
        and str(getattr(a.state, "value", a.state)).upper() == "FIRING"
    ]
    if not firing:
        return {"value": 0.0}
    return {"value": float(firing[0].value or 0.0), "alert": firing[0].id}


def healthy_canary(name: str, *, workspace: Any) -> None:
    """A canary controller whose analysis always passes: step up, then promote."""
    dep = deploy.get(name, workspace=workspace)
    if dep.status.value != "active":
        return
    if dep.step < len(dep.steps) - 1:
        deploy.advance(name, reason="canary healthy", workspace=workspace)
    else:
        deploy.promote(name, reason="canary analysis passed", workspace=workspace)
