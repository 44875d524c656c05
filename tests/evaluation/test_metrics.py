"""Evaluation metrics against scikit-learn, fairness against fairlearn, gates end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

from loopml.errors import InvalidInput
from loopml.evaluation import Slice, evaluate, fairness, parse_gates
from loopml.models import PythonModel, save_model


class ByGroup(PythonModel):
    """A deliberately biased "model": approves exactly one group."""

    def predict(self, data):
        return (data["grp"].to_numpy() == "g1").astype(int)


@pytest.fixture(scope="module")
def cancer(tmp_path_factory):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=5000).fit(X, y)
    path = save_model(model, tmp_path_factory.mktemp("m") / "m", input_example=X.head()).path
    frame = X.assign(target=y, size=np.where(X["mean radius"] > 14, "large", "small"))
    return model, path, frame, X, y


def test_classification_metrics_match_sklearn(cancer):
    model, path, frame, X, y = cancer
    report = evaluate(
        path, frame, "target", infra=False, robustness=False, analysis=False, leakage=False
    )
    proba, pred = model.predict_proba(X)[:, 1], model.predict(X)
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred),
        "recall": skm.recall_score(y, pred),
        "f1": skm.f1_score(y, pred),
        "roc_auc": skm.roc_auc_score(y, proba),
        "pr_auc": skm.average_precision_score(y, proba),
        "log_loss": skm.log_loss(y, model.predict_proba(X)),
        "brier": skm.brier_score_loss(y, proba),
    }
    for key, value in expected.items():
        assert report.metrics[key] == pytest.approx(value, rel=1e-12), key
    assert 0 <= report.metrics["ece"] < 0.1
    assert report.task == "classification" and report.passed is None
    assert sum(map(sum, report.curves["confusion_matrix"])) == len(y)


def test_multiclass_and_regression_match_sklearn(tmp_path):
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = LogisticRegression(max_iter=5000).fit(X, y)
    path = save_model(clf, tmp_path / "iris", input_example=X.head()).path
    report = evaluate(
        path, X.assign(t=y), "t", infra=False, analysis=False, leakage=False, robustness=False
    )
    assert report.metrics["f1"] == pytest.approx(skm.f1_score(y, clf.predict(X), average="macro"))
    assert report.metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, clf.predict_proba(X), multi_class="ovr")
    )
    Xd, yd = load_diabetes(return_X_y=True, as_frame=True)
    reg = LinearRegression().fit(Xd, yd)
    path = save_model(reg, tmp_path / "reg", input_example=Xd.head()).path
    report = evaluate(path, Xd.assign(t=yd), "t", infra=False, leakage=False)
    pred = reg.predict(Xd)
    assert report.task == "regression"
    assert report.metrics["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(yd, pred)))
    assert report.metrics["mae"] == pytest.approx(skm.mean_absolute_error(yd, pred))
    assert report.metrics["r2"] == pytest.approx(skm.r2_score(yd, pred))
    assert report.metrics["mape"] == pytest.approx(skm.mean_absolute_percentage_error(yd, pred))
    assert report.robustness["gaussian_noise"]["drop"] is not None


def test_fairness_matches_fairlearn():
    fm = pytest.importorskip("fairlearn.metrics")
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 400)
    pred = rng.integers(0, 2, 400)
    groups = rng.choice(["a", "b", "c"], 400)
    ours = fairness(y, pred, groups, 1)
    assert ours["demographic_parity_difference"] == pytest.approx(
        fm.demographic_parity_difference(y, pred, sensitive_features=groups)
    )
    assert ours["demographic_parity_ratio"] == pytest.approx(
        fm.demographic_parity_ratio(y, pred, sensitive_features=groups)
    )
    assert ours["equalized_odds_difference"] == pytest.approx(
        fm.equalized_odds_difference(y, pred, sensitive_features=groups)
    )


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.integers(0, 1), st.sampled_from("xyz")),
        min_size=4,
        max_size=60,
    )
)
def test_fairness_hand_computed(rows):
    y, pred, groups = (np.array(c) for c in zip(*rows, strict=True))
    result = fairness(y, pred, groups, 1)
    rates = [float(np.mean(pred[groups == g] == 1)) for g in sorted(set(groups.tolist()))]
    assert result["demographic_parity_difference"] == pytest.approx(max(rates) - min(rates))
    assert 0.0 <= result["demographic_parity_difference"] <= 1.0


def test_slices_and_biased_model_fails_fairness_gate(cancer, tmp_path):
    _, _, frame, X, y = cancer
    group = np.where(np.arange(len(X)) % 2 == 0, "g1", "g2")

    data = X.assign(grp=group, target=y)
    path = save_model(
        ByGroup(), tmp_path / "biased", input_example=data.drop(columns="target").head()
    ).path
    gates = parse_gates(
        "fairness:\n  max: {demographic_parity_difference: 0.1}\n"
        "slices:\n  min: {accuracy: 0.0}\n  min_rows: 1\n"
    )
    report = evaluate(
        path,
        data,
        "target",
        sensitive=["grp"],
        slices=[Slice("big", expr="`mean radius` > 15"), "grp"],
        gates=gates,
        infra=False,
        robustness=False,
        analysis=False,
        leakage=False,
    )
    assert report.passed is False
    failed = [g.rule for g in report.failures]
    assert failed == ["fairness[grp] demographic_parity_difference max 0.1"]
    assert report.fairness["grp"]["demographic_parity_difference"] == pytest.approx(1.0)
    assert set(report.slices) == {"big", "grp=g1", "grp=g2"}
    assert report.slices["big"]["rows"] == int((X["mean radius"] > 15).sum())


def test_html_and_json_reports(cancer, tmp_path):
    _, path, frame, _, _ = cancer
    report = evaluate(path, frame, "target", slices=["size"], sensitive=["size"], infra=True)
    html = report.write(tmp_path / "r.html").read_text()
    for needle in (
        "ROC curve",
        "Precision-recall curve",
        "Calibration",
        "Confusion matrix",
        "Permutation importance",
    ):
        assert needle in html
    import json

    body = json.loads(report.write(tmp_path / "r.json").read_text())
    assert body["infra"]["loads"] is True and body["infra"]["latency_p95_ms"] > 0
    assert body["analysis"]["permutation_importance"]
    assert body["leakage"] == []


def test_leakage_findings(tmp_path):
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "t": pd.date_range("2026-01-01", periods=n, freq="h"),
        }
    )
    frame["y"] = (frame["a"] > 0).astype(int)
    frame["leak"] = frame["y"] * 10.0 + rng.normal(scale=0.01, size=n)
    model = LogisticRegression().fit(frame[["a", "b", "leak"]], frame["y"])
    path = save_model(model, tmp_path / "m", input_example=frame[["a", "b", "leak"]].head()).path
    train, test = frame.iloc[:400], frame.iloc[300:]
    gates = parse_gates("leakage: {allow: false}\n")
    report = evaluate(
        path,
        test,
        "y",
        train_data=train,
        timestamp_column="t",
        gates=gates,
        infra=False,
        robustness=False,
        analysis=False,
    )
    checks = {f["check"] for f in report.leakage}
    assert checks == {"shared_rows", "predictive_feature", "time_order"}
    assert report.passed is False


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("metrics:\n  roc_acu: {min: 0.9}\n", 2, "did you mean 'roc_auc'"),
        ("metrics:\n  roc_auc: {minimum: 0.9}\n", 2, "unknown bound"),
        ("metrics:\n  roc_auc: {min: high}\n", 2, "must be a number"),
        ("fairnes:\n  max: {}\n", 1, "did you mean 'fairness'"),
        ("no_regression:\n  tolerance: {roc_auc: 0.1}\n", 2, "needs 'against'"),
        ("infra:\n  max_latency: 5\n", 2, "unknown infra budget"),
        ("metrics: [1, 2\n", 2, "malformed YAML"),
    ],
)
def test_gate_file_errors_name_the_line(tmp_path: Path, text: str, line: int, needle: str):
    path = tmp_path / "gates.yaml"
    path.write_text(text)
    from loopml.evaluation import load_gates

    with pytest.raises(InvalidInput) as info:
        load_gates(path)
    assert f"{path}:{line}" in info.value.message and needle in info.value.message
    assert info.value.exit_code == 2


def test_bad_evaluation_inputs(cancer, tmp_path):
    _, path, frame, _, _ = cancer
    with pytest.raises(InvalidInput, match="target column"):
        evaluate(path, frame, "nope", infra=False)
    with pytest.raises(InvalidInput, match="cannot read"):
        evaluate(path, tmp_path / "missing.csv", "target")
    with pytest.raises(InvalidInput, match="slice"):
        evaluate(path, frame, "target", slices=[Slice("x", expr="no_such_column > 1")], infra=False)
