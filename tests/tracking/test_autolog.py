"""Autologging scikit-learn (and xgboost/lightgbm) fits."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator

import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from loopml.errors import InvalidInput
from loopml.tracking import TrackingClient, autolog, use_tracking


@pytest.fixture
def logged(client: TrackingClient) -> Iterator[TrackingClient]:
    with use_tracking(client):
        autolog(client=client)
        try:
            yield client
        finally:
            autolog(disable=True)


@pytest.fixture
def iris() -> tuple[pd.DataFrame, pd.Series]:
    data = load_iris(as_frame=True)
    return data.data, data.target


def test_fit_inside_a_run_logs_params_metrics_model_and_data(
    logged: TrackingClient, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = iris
    with logged.start_run("train") as run:
        model = LogisticRegression(C=0.5, max_iter=500).fit(X, y)
    record = logged.get_run(run.id)
    assert record.params["C"] == "0.5" and record.params["max_iter"] == "500"
    assert record.tags["loopml.autolog.estimator"].endswith("LogisticRegression")
    assert len(record.tags["loopml.autolog.training_data_digest"]) == 64
    keys = {s.key for s in logged.metric_summaries([run.id])}
    assert {"training_accuracy", "training_f1", "training_roc_auc", "training_log_loss"} <= keys
    loaded = logged.load_model(run.id)
    assert (loaded.predict(X) == model.predict(X)).all()
    assert loaded.flavor == "sklearn" and loaded.signature is not None
    assert loaded.signature.columns == list(X.columns)
    manifest = json.loads(logged.read_artifact(run.id, "model/loopml-model.json"))
    assert manifest["options"]["serialization"] == "skops"


def test_fit_without_a_run_makes_one_and_inner_fits_are_not_logged(
    logged: TrackingClient, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = iris
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    RandomForestRegressor(n_estimators=5, random_state=0).fit(X, y)
    runs = logged.search_runs(order_by="created_at_ms")
    assert [r.name for r in runs] == ["Pipeline", "GridSearchCV", "RandomForestRegressor"]
    assert "training_r2" in {s.key for s in logged.metric_summaries([runs[2].id])}


def test_second_fit_in_one_run_becomes_a_child(
    logged: TrackingClient, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = iris
    with logged.start_run("two") as run:
        LogisticRegression(C=1.0, max_iter=500).fit(X, y)
        LogisticRegression(C=2.0, max_iter=500).fit(X, y)
    children = logged.search_runs(parent_id=run.id)
    assert [c.params["C"] for c in children] == ["2.0"]


@pytest.mark.parametrize("framework", ["xgboost", "lightgbm"])
def test_boosting_libraries(
    logged: TrackingClient, iris: tuple[pd.DataFrame, pd.Series], framework: str
) -> None:
    if importlib.util.find_spec(framework) is None:
        pytest.skip(f"{framework} is not installed")
    X, y = iris
    module = importlib.import_module(framework)
    cls = module.XGBClassifier if framework == "xgboost" else module.LGBMClassifier
    extra = {"verbose": -1} if framework == "lightgbm" else {}
    with logged.start_run(framework) as run:
        cls(n_estimators=5, **extra).fit(X, y)
    assert logged.get_run(run.id).params["n_estimators"] == "5"
    assert logged.load_model(run.id) is not None


def test_unknown_framework_and_disable(
    client: TrackingClient, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    with pytest.raises(InvalidInput):
        autolog(frameworks=("torch",))
    autolog(frameworks=("sklearn",), client=client)
    autolog(disable=True)
    X, y = iris
    LogisticRegression(max_iter=500).fit(X, y)
    assert client.search_runs() == []
