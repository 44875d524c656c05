"""The demo flow, step by step, reporting progress through a callback."""

from __future__ import annotations

import io
import pickle
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from loopml.artifacts import ArtifactStore
from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN, generate_transactions
from loopml.entities import Metric, RunStatus
from loopml.ids import ObjectRef
from loopml.lineage import link
from loopml.store import open_store

if TYPE_CHECKING:
    from loopml.config import Settings

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    """What the demo made, for the summary and for tests."""

    rows: int
    fraud_rate: float
    data_digest: str
    run_id: str
    model_digest: str
    roc_auc: float
    pr_auc: float
    seconds: float

    def as_dict(self) -> dict[str, object]:
        """Plain dict (for ``--json``)."""
        return asdict(self)


def _fraud_model(frame: pd.DataFrame) -> Pipeline:
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
    return Pipeline(
        [
            ("encode", encode),
            ("model", HistGradientBoostingClassifier(max_iter=200, random_state=0)),
        ]
    )


def run_demo(
    settings: Settings,
    *,
    days: int = 30,
    rows_per_day: int = 2000,
    seed: int = 7,
    progress: Progress | None = None,
) -> DemoResult:
    """Run the demo in the home ``settings`` name and return what it made.

    Args:
        settings: Where to record everything.
        days: Days of transactions to generate; the last quarter is held out for scoring.
        rows_per_day: Transactions per day.
        seed: Seed of the generator and the model.
        progress: Called with a short description as each step starts.
    """
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    store = open_store(settings)
    artifacts = ArtifactStore(settings.artifact_url)
    try:
        say("generating a month of card transactions")
        frame = generate_transactions(
            start="2026-10-01", days=days, rows_per_day=rows_per_day, seed=seed
        )
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        data_digest = artifacts.put(buffer.getvalue())

        say("training the fraud model")
        cutoff = frame["timestamp"].min() + pd.Timedelta(days=int(days * 0.75))
        train, test = frame[frame["timestamp"] < cutoff], frame[frame["timestamp"] >= cutoff]
        params = {
            "model": "HistGradientBoostingClassifier",
            "max_iter": "200",
            "train_rows": str(len(train)),
            "test_rows": str(len(test)),
            "seed": str(seed),
        }
        run = store.create_run(name="demo-train", params=params, tags={"demo": "closed-loop"})
        model = _fraud_model(frame).fit(train[list(FEATURE_COLUMNS)], train[TARGET_COLUMN])

        say("scoring on the held-out week")
        scores = model.predict_proba(test[list(FEATURE_COLUMNS)])[:, 1]
        roc_auc = float(roc_auc_score(test[TARGET_COLUMN], scores))
        pr_auc = float(average_precision_score(test[TARGET_COLUMN], scores))
        stamp = time.time_ns() // 1_000_000
        store.log_metrics(
            run.id, [Metric("roc_auc", roc_auc, 0, stamp), Metric("pr_auc", pr_auc, 0, stamp)]
        )

        say("recording the model and its lineage")
        model_digest = artifacts.put(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
        run_ref = ObjectRef("run", run.id)
        link(ObjectRef("artifact", data_digest), run_ref, "trained_on", store=store)
        link(run_ref, ObjectRef("artifact", model_digest), "produced_model", store=store)
        store.set_run_status(run.id, RunStatus.FINISHED)
    finally:
        store.close()
    return DemoResult(
        rows=len(frame),
        fraud_rate=float(frame[TARGET_COLUMN].mean()),
        data_digest=data_digest,
        run_id=run.id,
        model_digest=model_digest,
        roc_auc=roc_auc,
        pr_auc=pr_auc,
        seconds=time.perf_counter() - started,
    )
