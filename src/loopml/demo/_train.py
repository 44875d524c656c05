"""Demo step 2: the first champion from a run of the training pipeline, then tuning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN
from loopml.pipelines import load_pipeline, run_pipeline
from loopml.tuning import tune

if TYPE_CHECKING:
    from pathlib import Path

    from loopml.entities import DatasetVersion
    from loopml.pipelines import Executor
    from loopml.tracking import TrackingClient
    from loopml.tuning import Trial, TuneResult
    from loopml.workspace import Workspace


@dataclass(frozen=True)
class Training:
    """The pipeline run that trained the first champion, and what it made."""

    pipeline_run_id: str
    run_id: str
    version_number: int
    roc_auc: float
    pr_auc: float
    train: pd.DataFrame
    test: pd.DataFrame


def fraud_model(frame: pd.DataFrame, **params: Any) -> Pipeline:
    """One-hot categories + gradient boosting, the demo's model."""
    categorical = [c for c in FEATURE_COLUMNS if not pd.api.types.is_numeric_dtype(frame[c])]
    numeric = [c for c in FEATURE_COLUMNS if c not in categorical]
    encode = ColumnTransformer(
        [
            (
                "categories",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                categorical,
            ),
            ("numbers", "passthrough", numeric),
        ]
    )
    booster = HistGradientBoostingClassifier(random_state=0, **{"max_iter": 200, **params})
    return Pipeline([("encode", encode), ("model", booster)])


def split_by_time(frame: pd.DataFrame, days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first three quarters of the days train; the rest is held out."""
    cutoff = frame["timestamp"].min() + pd.Timedelta(days=int(days * 0.75))
    return frame[frame["timestamp"] < cutoff], frame[frame["timestamp"] >= cutoff]


def train_pipeline(
    workspace: Workspace,
    version: DatasetVersion,
    *,
    gates: Path,
    seed: int,
    executor: Executor,
) -> Training:
    """Train the first champion by a run of the demo's training pipeline on ``version``
    (its last quarter of days held out), registered with ``gates``."""
    from loopml.demo._data import DATASET
    from loopml.demo._fraud_pipeline import TARGET

    params = {"data": f"{DATASET}@v{version.seq}", "gates": str(gates), "seed": seed}
    result = run_pipeline(load_pipeline(TARGET), params, workspace=workspace, executor=executor)
    made = result.output("register")
    metrics = {m.key: m.latest for m in workspace.store.metric_summaries([made["run_id"]])}
    return Training(
        pipeline_run_id=result.id,
        run_id=str(made["run_id"]),
        version_number=int(made["version"]),
        roc_auc=metrics["roc_auc"],
        pr_auc=metrics["pr_auc"],
        train=result.output("load", 0),
        test=result.output("load", 1),
    )


def tune_briefly(
    client: TrackingClient, training: Training, *, seed: int, trials: int
) -> TuneResult:
    """A short Optuna search on a sample: every trial is a child run of one parent."""
    sample = training.train.sample(n=min(len(training.train), 8000), random_state=seed)
    features = list(FEATURE_COLUMNS)

    def objective(trial: Trial) -> float:
        model = fraud_model(sample, **trial.params)
        model.fit(sample[features], sample[TARGET_COLUMN])
        scores = model.predict_proba(training.test[features])[:, 1]
        return float(roc_auc_score(training.test[TARGET_COLUMN], scores))

    space = {
        "learning_rate": {"type": "float", "low": 0.03, "high": 0.3, "log": True},
        "max_iter": {"type": "int", "low": 50, "high": 150},
    }
    return tune(
        objective,
        space,
        n_trials=trials,
        direction="maximize",
        seed=seed,
        client=client,
        name="demo-tune",
    )
