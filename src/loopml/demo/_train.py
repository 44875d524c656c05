"""Demo step 2: a tracked training run (params, metrics, system metrics, model) and tuning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN
from loopml.ids import ObjectRef
from loopml.lineage import ObjectKind, Relation
from loopml.tuning import tune

if TYPE_CHECKING:
    from loopml.entities import DatasetVersion
    from loopml.tracking import TrackingClient
    from loopml.tuning import Trial, TuneResult


@dataclass(frozen=True)
class Training:
    """The fitted model and where the run put everything."""

    model: Pipeline
    run_id: str
    model_uri: str
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


def train_tracked(
    client: TrackingClient, frame: pd.DataFrame, version: DatasetVersion, *, days: int, seed: int
) -> Training:
    """Train in a tracked run that records its input data version and the model."""
    train, test = split_by_time(frame, days)
    params = {
        "model": "HistGradientBoostingClassifier",
        "max_iter": 200,
        "seed": seed,
        "train_rows": len(train),
        "test_rows": len(test),
    }
    with client.start_run(
        "demo-train", params=params, tags={"demo": "closed-loop"}, system_metrics=0.5
    ) as run:
        run.log_input(
            ObjectRef(ObjectKind.DATASET_VERSION, version.id), relation=Relation.TRAINED_ON
        )
        model = fraud_model(frame).fit(train[list(FEATURE_COLUMNS)], train[TARGET_COLUMN])
        scores = model.predict_proba(test[list(FEATURE_COLUMNS)])[:, 1]
        roc_auc = float(roc_auc_score(test[TARGET_COLUMN], scores))
        pr_auc = float(average_precision_score(test[TARGET_COLUMN], scores))
        run.log_metrics({"roc_auc": roc_auc, "pr_auc": pr_auc})
        info = run.log_model(model, "fraud", input_example=test[list(FEATURE_COLUMNS)].head(5))
    return Training(model, run.id, info.uri, roc_auc, pr_auc, train, test)


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
