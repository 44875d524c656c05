"""Model cards name the dataset versions a version was trained on, with profile summaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from loopml.data import DataRepo
from loopml.evaluation import evaluate, parse_gates
from loopml.registry import card_data, register_model, render_markdown
from loopml.tracking import TrackingClient


def _table(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "y": rng.integers(0, 2, 200)})
    frame["x"] = frame["x"].astype("float64")
    frame.loc[:9, "x"] = np.nan  # 5 % nulls
    path = tmp_path / "train.parquet"
    frame.to_parquet(path, index=False)
    return path, frame


def test_card_lists_dataset_versions_with_profiles(store, artifacts, tmp_path: Path) -> None:
    path, frame = _table(tmp_path)
    repo = DataRepo(store, artifacts, tmp_path / "cache")
    data = repo.commit("train-data", path, message="first")
    clean = frame.dropna()
    client = TrackingClient(store, artifacts, capture_environment=False)
    try:
        with client.start_run("fit") as run:
            run.log_input(f"dataset_version:{data.id}")
            model = LogisticRegression().fit(clean[["x"]], clean["y"])
            info = run.log_model(model, "model", input_example=clean[["x"]].head())
    finally:
        client.close()
    report = evaluate(
        info.uri,
        clean,
        "y",
        gates=parse_gates("metrics:\n  accuracy: {min: 0.0}\n"),
        robustness=False,
        infra=False,
        analysis=False,
        leakage=False,
        record=True,
        store=store,
        artifacts=artifacts,
    )
    version = register_model("m", info.uri, store=store, artifacts=artifacts, actor="ana")
    card = card_data("m/1", store=store, artifacts=artifacts)
    assert card["run"]["id"] == run.id == version.run_id
    assert card["training_data"] == [f"dataset_version:{data.id}"]
    [summary] = card["datasets"]
    assert summary["version"] == "train-data@v1" and summary["message"] == "first"
    [table] = summary["tables"]
    assert (table["path"], table["rows"], table["columns"]) == ("train.parquet", 200, 2)
    assert table["null_rates"] == {"x": 0.05, "y": 0.0}
    assert card["evaluation"]["id"] == report.evaluation_id  # the run's model, pre-registration
    markdown = render_markdown(card)
    assert "| train-data@v1" in markdown and "x 5.00%" in markdown
    assert f"of `{info.uri}` (before registration)" in markdown


def test_card_without_datasets_keeps_other_upstream_artifacts(
    store, artifacts, fraud_model, fraud_data
) -> None:
    from loopml.datasets import FEATURE_COLUMNS

    _, test = fraud_data
    version = register_model(
        "plain",
        fraud_model,
        input_example=test[list(FEATURE_COLUMNS)].head(),
        store=store,
        artifacts=artifacts,
        actor="ana",
    )
    card = card_data("plain/1", store=store, artifacts=artifacts)
    assert card["training_data"] == [] and card["datasets"] == []
    assert card["evaluation"] is None and version.run_id is None
    assert "training data: not recorded" in render_markdown(card)
