"""Project templates written by ``loopml init --template NAME``."""

from __future__ import annotations

from pathlib import Path

from loopml.errors import Conflict, InvalidInput

_CLASSIFICATION_PIPELINE = '''\
"""Training: ingest -> validate -> split -> train -> evaluate -> register.

Run it with:  loopml pipeline run pipeline:training --config params.yaml
Change a parameter (-p n_estimators=200): only train and what follows run again.
"""

from __future__ import annotations

import pandas as pd

import loopml
from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN, generate_transactions


@loopml.step
def ingest(days: int, rows_per_day: int, seed: int) -> pd.DataFrame:
    """The training data (synthetic card transactions; swap in your own source)."""
    return generate_transactions(days=days, rows_per_day=rows_per_day, seed=seed)


@loopml.step
def validate(frame: pd.DataFrame) -> pd.DataFrame:
    """Refuse data with missing columns, nulls or a single class."""
    missing = [c for c in (*FEATURE_COLUMNS, TARGET_COLUMN) if c not in frame.columns]
    if missing:
        raise ValueError(f"missing columns: {missing}")
    nulls = frame[list(FEATURE_COLUMNS)].isna().sum()
    if nulls.any():
        raise ValueError(f"null values: {nulls[nulls > 0].to_dict()}")
    if frame[TARGET_COLUMN].nunique() < 2:
        raise ValueError("the target has a single class")
    return frame


@loopml.step
def split(frame: pd.DataFrame, test_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split by time: the last test_fraction of rows is the test set."""
    cut = int(len(frame) * (1 - test_fraction))
    ordered = frame.sort_values("timestamp", kind="stable")
    return ordered.iloc[:cut].reset_index(drop=True), ordered.iloc[cut:].reset_index(drop=True)


def _model(n_estimators: int, learning_rate: float):  # type: ignore[no-untyped-def]
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    from loopml.datasets import CATEGORICAL_COLUMNS

    numeric = [c for c in FEATURE_COLUMNS if c not in CATEGORICAL_COLUMNS]
    encode = ColumnTransformer(
        [
            (
                "categories",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                list(CATEGORICAL_COLUMNS),
            ),
            ("numbers", "passthrough", numeric),
        ]
    )
    booster = HistGradientBoostingClassifier(
        max_iter=n_estimators, learning_rate=learning_rate, random_state=0
    )
    return Pipeline([("encode", encode), ("model", booster)])


@loopml.step(resources={"cpu": 1})
def train(
    train_set: pd.DataFrame, n_estimators: int, learning_rate: float, tune: bool
):  # type: ignore[no-untyped-def]
    """Fit the model; with tune=True pick the learning rate on a validation slice."""
    from sklearn.metrics import average_precision_score

    features, target = train_set[list(FEATURE_COLUMNS)], train_set[TARGET_COLUMN]
    if tune:
        cut = int(len(train_set) * 0.8)
        scores = {}
        for rate in (learning_rate / 2, learning_rate, learning_rate * 2):
            model = _model(n_estimators, rate).fit(features[:cut], target[:cut])
            scores[rate] = average_precision_score(
                target[cut:], model.predict_proba(features[cut:])[:, 1]
            )
        learning_rate = max(scores, key=scores.__getitem__)
    return _model(n_estimators, learning_rate).fit(features, target)


@loopml.step
def evaluate(model, test_set: pd.DataFrame) -> dict:  # type: ignore[no-untyped-def]
    """Metrics on the held-out test set."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    scores = model.predict_proba(test_set[list(FEATURE_COLUMNS)])[:, 1]
    target = test_set[TARGET_COLUMN]
    return {
        "roc_auc": float(roc_auc_score(target, scores)),
        "pr_auc": float(average_precision_score(target, scores)),
        "rows": int(len(test_set)),
    }


@loopml.step(cache=False)
def register(  # type: ignore[no-untyped-def]
    model, metrics: dict, min_roc_auc: float, model_name: str
) -> dict:
    """Register the model as a candidate if it passes the gate (a record, for now)."""
    passed = metrics["roc_auc"] >= min_roc_auc
    record = {"model": model_name, "candidate": passed, "metrics": metrics}
    if not passed:
        raise ValueError(f"roc_auc {metrics['roc_auc']:.3f} is below the gate {min_roc_auc}")
    return record


@loopml.pipeline
def training(
    days: int = 14,
    rows_per_day: int = 500,
    seed: int = 0,
    test_fraction: float = 0.25,
    n_estimators: int = 100,
    learning_rate: float = 0.1,
    tune: bool = False,
    min_roc_auc: float = 0.7,
    model_name: str = "fraud",
) -> None:
    """ingest -> validate -> split -> train -> evaluate -> register."""
    frame = validate(ingest(days, rows_per_day, seed))
    train_set, test_set = split(frame, test_fraction)
    model = train(train_set, n_estimators, learning_rate, tune)
    metrics = evaluate(model, test_set)
    register(model, metrics, min_roc_auc, model_name)
'''

_CLASSIFICATION_PARAMS = """# Parameters of pipeline:training (override any with -p key=value).
days: 14
rows_per_day: 500
seed: 0
test_fraction: 0.25
n_estimators: 100
learning_rate: 0.1
tune: false
min_roc_auc: 0.7
model_name: fraud
"""

_CLASSIFICATION_README = """# Classification project

Made by `loopml init --template classification`.

    loopml pipeline run pipeline:training --config params.yaml
    loopml pipeline list
    loopml pipeline show RUN_ID
    loopml pipeline run pipeline:training --config params.yaml -p tune=true
    loopml pipeline schedule pipeline:training --cron "0 2 * * *" --config params.yaml
    loopml agent --once

Steps: ingest -> validate -> split -> train -> evaluate -> register (candidate).
"""

#: Template name -> {relative path: content}.
TEMPLATES: dict[str, dict[str, str]] = {
    "classification": {
        "pipeline.py": _CLASSIFICATION_PIPELINE,
        "params.yaml": _CLASSIFICATION_PARAMS,
        "README.md": _CLASSIFICATION_README,
    },
}


def write_template(name: str, folder: Path | str) -> list[Path]:
    """Write the files of template ``name`` into ``folder``.

    Args:
        name: A key of :data:`TEMPLATES` (``"classification"``).
        folder: Where to write (created if missing).

    Returns:
        The paths written.

    Raises:
        InvalidInput: The template is unknown.
        Conflict: A file of the template exists already (nothing is written).
    """
    files = TEMPLATES.get(name)
    if files is None:
        raise InvalidInput(
            f"unknown template {name!r}", hint=f"Templates: {', '.join(sorted(TEMPLATES))}."
        )
    root = Path(folder)
    clashes = [str(root / rel) for rel in files if (root / rel).exists()]
    if clashes:
        raise Conflict(
            f"the template would overwrite {', '.join(clashes)}",
            hint="Run it in an empty folder, or move those files away.",
        )
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for rel, content in files.items():
        (root / rel).write_text(content, encoding="utf-8")
        written.append(root / rel)
    return written
