"""Project templates written by ``loopml init --template NAME``."""

from __future__ import annotations

from pathlib import Path

from loopml.errors import Conflict, InvalidInput

_CLASSIFICATION_PIPELINE = '''\
"""Training: ingest -> validate -> split -> train -> evaluate -> register.

Run it with:  loopml pipeline run pipeline:training --config params.yaml
Change a parameter (-p n_estimators=200): only train and what follows run again.

Every step uses loopml: the data is committed as a dataset version (loopml.data) and
checked against the dataset's schema; training is a tracked run (loopml.start_run) that
logs params, metrics and the model; evaluate judges the run's model by gates.yaml
(loopml.evaluate); register registers it (loopml.registry) and points the alias
"candidate" at it. Lineage links them: dataset version -> run -> model version.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

import loopml
from loopml.datasets import FEATURE_COLUMNS, TARGET_COLUMN, generate_transactions

DATASET = "transactions"
GATES = Path(__file__).with_name("gates.yaml")


@loopml.step
def ingest(days: int, rows_per_day: int, seed: int) -> tuple[pd.DataFrame, str]:
    """The training data (synthetic card transactions; swap in your own source),
    committed as a version of the dataset. Returns the frame and the version's id."""
    frame = generate_transactions(days=days, rows_per_day=rows_per_day, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "transactions.parquet"
        frame.to_parquet(path, index=False)
        version = loopml.data.commit(
            DATASET, path, message=f"{days} days x {rows_per_day} rows, seed {seed}"
        )
    return frame, version.id


@loopml.step
def validate(frame: pd.DataFrame, version_id: str) -> pd.DataFrame:
    """Check the version against the dataset's schema (inferred from the first version
    and saved); any error-level anomaly fails the step."""
    ref = f"{DATASET}@{version_id}"
    store = loopml.current_workspace().store
    dataset = store.get_dataset(DATASET)
    if not any(s.version_id is None for s in store.list_schemas(dataset.id)):
        loopml.data.save_schema(DATASET, loopml.data.infer_schema(ref))
    report = loopml.data.validate(ref, DATASET)
    if not report.ok:
        problems = "; ".join(a.message for a in report.errors)
        raise ValueError(f"{ref} does not match the schema of {DATASET}: {problems}")
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
    train_set: pd.DataFrame,
    version_id: str,
    n_estimators: int,
    learning_rate: float,
    tune: bool,
) -> tuple[object, str]:
    """Fit the model in a tracked run; with tune=True pick the learning rate on a
    validation slice. Returns the model and the run's id."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    features, target = train_set[list(FEATURE_COLUMNS)], train_set[TARGET_COLUMN]
    with loopml.start_run("train", params={"n_estimators": n_estimators, "tune": tune}) as run:
        run.log_input(f"dataset_version:{version_id}")
        if tune:
            cut = int(len(train_set) * 0.8)
            scores = {}
            for rate in (learning_rate / 2, learning_rate, learning_rate * 2):
                model = _model(n_estimators, rate).fit(features[:cut], target[:cut])
                scores[rate] = average_precision_score(
                    target[cut:], model.predict_proba(features[cut:])[:, 1]
                )
                run.log_metric("tune/pr_auc", scores[rate])
            learning_rate = max(scores, key=scores.__getitem__)
        run.log_params({"learning_rate": learning_rate, "rows": len(train_set)})
        model = _model(n_estimators, learning_rate).fit(features, target)
        scores = model.predict_proba(features)[:, 1]
        run.log_metrics(
            {
                "train/roc_auc": float(roc_auc_score(target, scores)),
                "train/pr_auc": float(average_precision_score(target, scores)),
            }
        )
        run.log_model(model, "model", input_example=features.head(5))
    return model, run.id


@loopml.step
def evaluate(test_set: pd.DataFrame, run_id: str, min_roc_auc: float) -> dict:
    """Evaluate the run's model on the test set and judge it by gates.yaml
    (min_roc_auc overrides the roc_auc bound of the file)."""
    import dataclasses

    from loopml.evaluation import load_gates

    gates = load_gates(GATES)
    rules = tuple(
        dataclasses.replace(r, bound=min_roc_auc)
        if (r.kind, r.key, r.op) == ("metrics", "roc_auc", "min")
        else r
        for r in gates.rules
    )
    report = loopml.evaluate(
        f"runs:/{run_id}/model",
        test_set,
        TARGET_COLUMN,
        gates=dataclasses.replace(gates, rules=rules),
        robustness=False,
        infra=False,
        analysis=False,
        leakage=False,
        record=True,
    )
    return {
        "passed": bool(report.passed),
        "metrics": {k: v for k, v in report.metrics.items() if isinstance(v, float)},
        "failed": [g.rule for g in report.gates if not g.passed],
        "evaluation_id": report.evaluation_id,
        "rows": int(len(test_set)),
    }


@loopml.step(cache=False)
def register(run_id: str, evaluation: dict, model_name: str) -> dict:
    """Register the run's model and make it the "candidate" if it passed its gates."""
    if not evaluation["passed"]:
        raise ValueError(f"the model failed its gates: {', '.join(evaluation['failed'])}")
    version = loopml.registry.register_model(
        model_name,
        f"runs:/{run_id}/model",
        gates=GATES,
        description=f"roc_auc {evaluation['metrics'].get('roc_auc', float('nan')):.3f}",
    )
    loopml.registry.set_alias(
        model_name, "candidate", version.number, reason="passed its gates in the pipeline"
    )
    return {
        "model": model_name,
        "version": version.number,
        "semver": version.semver,
        "uri": f"models:/{model_name}@candidate",
        "run_id": run_id,
        "metrics": evaluation["metrics"],
    }


@loopml.pipeline
def training(
    days: int = 10,
    rows_per_day: int = 1000,
    seed: int = 0,
    test_fraction: float = 0.25,
    n_estimators: int = 100,
    learning_rate: float = 0.1,
    tune: bool = False,
    min_roc_auc: float = 0.7,
    model_name: str = "fraud",
) -> None:
    """ingest -> validate -> split -> train -> evaluate -> register."""
    frame, version_id = ingest(days, rows_per_day, seed)
    checked = validate(frame, version_id)
    train_set, test_set = split(checked, test_fraction)
    _model_object, run_id = train(train_set, version_id, n_estimators, learning_rate, tune)
    evaluation = evaluate(test_set, run_id, min_roc_auc)
    register(run_id, evaluation, model_name)
'''

_CLASSIFICATION_PARAMS = """# Parameters of pipeline:training (override any with -p key=value).
days: 10
rows_per_day: 1000
seed: 0
test_fraction: 0.25
n_estimators: 100
learning_rate: 0.1
tune: false
min_roc_auc: 0.7
model_name: fraud
"""

_CLASSIFICATION_GATES = """# Gates the evaluate step judges the model by (loopml.evaluate).
# A failing rule fails the pipeline before register; the file is also registered with the
# version. -p min_roc_auc=X overrides the roc_auc bound. See docs/evaluation.md for rules.
metrics:
  roc_auc: {min: 0.7}
"""

_CLASSIFICATION_README = """# Classification project

Made by `loopml init --template classification`.

    loopml pipeline run pipeline:training --config params.yaml
    loopml pipeline list
    loopml pipeline show RUN_ID
    loopml pipeline run pipeline:training --config params.yaml -p tune=true
    loopml pipeline schedule pipeline:training --cron "0 2 * * *" --config params.yaml
    loopml agent --once

Steps: ingest (dataset version) -> validate (schema) -> split -> train (tracked run with
the model) -> evaluate (gates.yaml) -> register (model version, alias `candidate`).

    loopml data log transactions
    loopml runs list
    loopml models card fraud@candidate
"""

#: Template name -> {relative path: content}.
TEMPLATES: dict[str, dict[str, str]] = {
    "classification": {
        "pipeline.py": _CLASSIFICATION_PIPELINE,
        "params.yaml": _CLASSIFICATION_PARAMS,
        "gates.yaml": _CLASSIFICATION_GATES,
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
