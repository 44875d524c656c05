"""The demo's training pipeline: load -> fit -> register, cached step by step.

Both of the demo's models come from it: the first champion (``data`` is the month the
demo committed; with no ``holdout`` its last quarter of days is held out) and every
retrain of the closed loop (the drift trigger's ``action.pipeline``: ``data`` is the newest
version the chain's ``check_data`` accepted, ``holdout`` the labelled days after it).
``data`` must name a pinned version (``NAME@vN``), so a cached step can never stand for
different rows. Lineage runs pipeline run -> step run -> tracking run -> model version,
and dataset version -> tracking run.

Run it with ``loopml pipeline run loopml.demo._fraud_pipeline:training -p data=...``; a
re-run with the same parameters is served from the cache and names the same model
version, which is what ``loopml readiness`` checks as "pipeline reproducible".
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd  # noqa: TC002 (@step resolves the annotations at run time)

from loopml.pipelines import pipeline, step

TARGET = "loopml.demo._fraud_pipeline:training"
_PINNED = re.compile(r"^[^@]+@v\d+$")


def _days(frame: pd.DataFrame) -> int:
    stamps = frame["timestamp"]
    return int((stamps.max().normalize() - stamps.min().normalize()).days) + 1


@step
def load(data: str, holdout: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The rows to fit and the rows to score, and the id of ``data``'s version."""
    from loopml import data as datasets
    from loopml.demo._train import split_by_time

    for name, ref in (("data", data), ("holdout", holdout)):
        if ref and not _PINNED.match(ref):
            raise ValueError(
                f"{name}={ref!r} is not a pinned dataset version: pass NAME@vN (e.g. "
                "transactions@v2) so the cached steps always stand for the same rows"
            )
    repo = datasets.repo_for()
    frame = datasets.load_table(data, repo=repo)
    if holdout:
        return frame, datasets.load_table(holdout, repo=repo), repo.resolve(data).id
    train, test = split_by_time(frame, _days(frame))
    return train.reset_index(drop=True), test.reset_index(drop=True), repo.resolve(data).id


@step(resources={"cpu": 1})
def fit(
    train_set: pd.DataFrame,
    test_set: pd.DataFrame,
    version_id: str,
    data: str,
    run_name: str,
    max_iter: int,
    seed: int,
) -> str:
    """Fit the demo's model in a tracked run that records the version it trained on and
    its held-out ROC-AUC and PR-AUC. Returns the run's id."""
    from sklearn.metrics import average_precision_score, roc_auc_score
    from threadpoolctl import threadpool_limits

    import loopml
    from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN
    from loopml.demo._train import fraud_model
    from loopml.ids import ObjectKind, ObjectRef
    from loopml.lineage import Relation

    features = list(FEATURE_COLUMNS)
    params = {
        "data": data,
        "model": "HistGradientBoostingClassifier",
        "max_iter": max_iter,
        "seed": seed,
        "train_rows": len(train_set),
        "test_rows": len(test_set),
    }
    # One native thread, as in the demo's own process (see docs/architecture.md, the demo).
    with (
        threadpool_limits(limits=1),
        loopml.start_run(
            run_name, params=params, tags={"demo": "closed-loop"}, system_metrics=0.5
        ) as run,
    ):
        run.log_input(ObjectRef(ObjectKind.DATASET_VERSION, version_id), Relation.TRAINED_ON)
        model = fraud_model(train_set, max_iter=max_iter)
        model.fit(train_set[features], train_set[TARGET_COLUMN])
        scores = model.predict_proba(test_set[features])[:, 1]
        run.log_metrics(
            {
                "roc_auc": float(roc_auc_score(test_set[TARGET_COLUMN], scores)),
                "pr_auc": float(average_precision_score(test_set[TARGET_COLUMN], scores)),
            }
        )
        run.log_model(model, "fraud", input_example=test_set[features].head(5))
    return run.id


@step
def register(run_id: str, model_name: str, gates: str, description: str) -> dict[str, Any]:
    """Register the run's model (once: a version already made from this run is returned)
    with the gates it will be judged by."""
    from loopml import registry
    from loopml.errors import NotFound

    try:
        made = [v for v in registry.list_versions(model_name) if v.run_id == run_id]
    except NotFound:
        made = []
    version = made[0] if made else None
    if version is None:
        version = registry.register_model(
            model_name, f"runs:/{run_id}/fraud", gates=gates or None, description=description
        )
    return {"model": model_name, "version": version.number, "id": version.id, "run_id": run_id}


@pipeline
def training(
    data: str,
    holdout: str = "",
    model_name: str = "fraud",
    gates: str = "",
    run_name: str = "demo-train",
    description: str = "Card-fraud classifier trained by `loopml demo`.",
    max_iter: int = 200,
    seed: int = 0,
) -> None:
    """load -> fit -> register."""
    train_set, test_set, version_id = load(data, holdout)
    run_id = fit(train_set, test_set, version_id, data, run_name, max_iter, seed)
    register(run_id, model_name, gates, description)
