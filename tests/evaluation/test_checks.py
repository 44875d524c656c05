"""Each evaluation check's result on data whose answer is known."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from loopml import plugins
from loopml.errors import InvalidEvaluationData
from loopml.evaluation import (
    AnalysisCheck,
    BehaviourCheck,
    Check,
    CurvesCheck,
    CurvesResult,
    DirectionalTest,
    FairnessCheck,
    InfraCheck,
    InvarianceTest,
    LeakageCheck,
    MetricsCheck,
    RobustnessCheck,
    Slice,
    SlicesCheck,
)
from loopml.models import load_model, save_model
from tests.evaluation.toy_models import Constant, Echo, EchoProba, Linear


@pytest.fixture(scope="module")
def scored() -> pd.DataFrame:
    """Chosen positive-class probabilities ``p`` and labels that mostly agree with them."""
    rng = np.random.default_rng(11)
    p = rng.uniform(0.0, 1.0, 500)
    y = (rng.uniform(0.0, 1.0, 500) < p).astype(int)
    return pd.DataFrame({"p": p, "y": y})


def test_metrics_check_matches_sklearn_on_chosen_probabilities(scored, context_of, tmp_path):
    path = save_model(EchoProba(), tmp_path / "m", input_example=scored[["p"]].head()).path
    result = MetricsCheck().run(context_of(path, scored, "y"))
    y, p = scored["y"].to_numpy(), scored["p"].to_numpy()
    pred = (p > 0.5).astype(int)
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred),
        "recall": skm.recall_score(y, pred),
        "f1": skm.f1_score(y, pred),
        "roc_auc": skm.roc_auc_score(y, p),
        "pr_auc": skm.average_precision_score(y, p),
        "brier": skm.brier_score_loss(y, p),
        "log_loss": skm.log_loss(y, np.column_stack([1 - p, p])),
    }
    for key, value in expected.items():
        assert result.values[key] == pytest.approx(value, rel=1e-12), key
    bins = np.clip(np.floor(p * 10).astype(int), 0, 9)
    ece = sum(
        (bins == b).sum() / len(p) * abs(p[bins == b].mean() - y[bins == b].mean())
        for b in np.unique(bins)
    )
    assert result.values["ece"] == pytest.approx(ece, rel=1e-9)
    assert result.to_dict() == dict(result.values)


def test_metrics_without_probabilities_are_label_metrics(scored, context_of, tmp_path):
    frame = scored.assign(pred=(scored["p"] > 0.3).astype(int))
    path = save_model(Echo(), tmp_path / "m", input_example=frame[["pred"]].head()).path
    values = MetricsCheck().run(context_of(path, frame, "y")).values
    assert list(values) == ["accuracy", "precision", "recall", "f1"]
    assert values["recall"] == pytest.approx(skm.recall_score(frame["y"], frame["pred"]))


def test_regression_metrics_match_sklearn(context_of, tmp_path):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.uniform(1.0, 5.0, 300)})
    frame["t"] = 2.0 * frame["x"] + 1.0 + rng.normal(0.0, 0.5, 300)
    path = save_model(Linear(), tmp_path / "m", input_example=frame[["x"]].head()).path
    context = context_of(path, frame, "t")
    values = MetricsCheck().run(context).values
    pred = 2.0 * frame["x"] + 1.0
    assert context.task == "regression"
    assert values["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(frame["t"], pred)))
    assert values["mae"] == pytest.approx(skm.mean_absolute_error(frame["t"], pred))
    assert values["r2"] == pytest.approx(skm.r2_score(frame["t"], pred))
    assert values["mape"] == pytest.approx(skm.mean_absolute_percentage_error(frame["t"], pred))
    assert CurvesCheck().run(context) == CurvesResult() and CurvesResult().to_dict() == {}


def test_curves_hold_the_confusion_matrix_and_roc_end_points(scored, context_of, tmp_path):
    path = save_model(EchoProba(), tmp_path / "m", input_example=scored[["p"]].head()).path
    curves = CurvesCheck().run(context_of(path, scored, "y"))
    pred = (scored["p"] > 0.5).astype(int)
    assert curves.labels == ("0", "1")
    assert [list(r) for r in curves.confusion_matrix] == skm.confusion_matrix(
        scored["y"], pred, labels=[0, 1]
    ).tolist()
    assert curves.roc is not None and (curves.roc.x[0], curves.roc.y[0]) == (0.0, 0.0)
    assert (curves.roc.x[-1], curves.roc.y[-1]) == (1.0, 1.0)
    assert curves.pr is not None and curves.calibration is not None
    assert set(curves.to_dict()) == {"labels", "confusion_matrix", "roc", "pr", "calibration"}


def test_slices_find_the_one_bad_region(regions, flip_north, context_of):
    check = SlicesCheck(
        slices=[
            "region",
            {"name": "high", "column": "x", "low": 0.5},
            Slice("nothing", expr="x > 2"),
        ]
    )
    result = check.run(context_of(flip_north, regions, "y"))
    by_name = {s.name: s for s in result.slices}
    assert list(by_name) == ["region=east", "region=north", "region=south", "high", "nothing"]
    assert by_name["region=north"].metrics["accuracy"] == 0.0
    assert by_name["region=north"].metrics["roc_auc"] == 0.0
    for good in ("region=east", "region=south"):
        assert by_name[good].metrics["accuracy"] == 1.0 and by_name[good].rows == 200
    assert by_name["high"].rows == int((regions["x"] >= 0.5).sum())
    assert by_name["nothing"].rows == 0 and by_name["nothing"].metrics == {}
    assert result.to_dict()["region=north"] == {
        "rows": 200,
        "metrics": dict(by_name["region=north"].metrics),
    }


def _biased() -> pd.DataFrame:
    """Group a: 100 positives (80 chosen), 100 negatives (40 chosen); group b: 100
    positives (30 chosen), 100 negatives (10 chosen)."""
    parts = []
    for group, tp, fp in (("a", 80, 40), ("b", 30, 10)):
        y = np.r_[np.ones(100, int), np.zeros(100, int)]
        pred = np.r_[np.ones(tp, int), np.zeros(100 - tp, int), np.ones(fp, int)]
        pred = np.r_[pred, np.zeros(200 - len(pred), int)]
        parts.append(pd.DataFrame({"grp": group, "pred": pred, "y": y}))
    return pd.concat(parts, ignore_index=True)


def test_fairness_on_a_constructed_biased_set(context_of, tmp_path):
    frame = _biased()
    path = save_model(Echo(), tmp_path / "m", input_example=frame[["pred"]].head()).path
    result = FairnessCheck(sensitive=["grp"]).run(context_of(path, frame, "y"))
    (column,) = result.columns
    assert column.column == "grp"
    assert column.demographic_parity_difference == pytest.approx(0.6 - 0.2)
    assert column.demographic_parity_ratio == pytest.approx(0.2 / 0.6)
    assert column.equalized_odds_difference == pytest.approx(max(0.8 - 0.3, 0.4 - 0.1))
    rates = {g.group: (g.count, g.selection_rate, g.tpr, g.fpr) for g in column.groups}
    assert rates == {
        "a": (200.0, pytest.approx(0.6), pytest.approx(0.8), pytest.approx(0.4)),
        "b": (200.0, pytest.approx(0.2), pytest.approx(0.3), pytest.approx(0.1)),
    }
    fm = pytest.importorskip("fairlearn.metrics")
    groups = frame["grp"].to_numpy()
    y, pred = frame["y"].to_numpy(), frame["pred"].to_numpy()
    assert column.demographic_parity_difference == pytest.approx(
        fm.demographic_parity_difference(y, pred, sensitive_features=groups)
    )
    assert column.equalized_odds_difference == pytest.approx(
        fm.equalized_odds_difference(y, pred, sensitive_features=groups)
    )


def test_fairness_needs_the_column_and_skips_regression(context_of, tmp_path):
    frame = _biased()
    path = save_model(Echo(), tmp_path / "m", input_example=frame[["pred"]].head()).path
    with pytest.raises(InvalidEvaluationData, match="sensitive column 'gender'"):
        FairnessCheck(sensitive=["gender"]).run(context_of(path, frame, "y"))
    regression = context_of(path, frame, "y", task="regression")
    assert FairnessCheck(sensitive=["grp"]).run(regression).columns == ()


def test_robustness_of_a_model_that_ignores_its_input(regions, context_of, tmp_path):
    path = save_model(Constant(), tmp_path / "m", input_example=regions[["x", "region"]]).path
    result = RobustnessCheck().run(context_of(path, regions, "y"))
    assert [p.kind for p in result.perturbations] == [
        "gaussian_noise",
        "category_swap",
        "missing_values",
    ]
    assert all(p.drop == 0.0 and p.error is None for p in result.perturbations)


def test_robustness_reports_a_model_that_refuses_missing_values(logistic, cancer, context_of):
    X, y = cancer
    _, path = logistic
    context = context_of(path, X.assign(target=y), "target")
    result = RobustnessCheck(seed=3).run(context)
    missing = result.get("missing_values")
    assert missing is not None and missing.metric is None and missing.drop is None
    assert missing.error is not None and missing.error.startswith("ValueError")
    assert result.get("category_swap").drop == 0.0  # no categorical column to swap
    assert result.get("gaussian_noise").drop != 0.0
    assert RobustnessCheck(seed=3).run(context) == result  # the seed fixes the perturbations
    gentle = RobustnessCheck(level=0.0).run(context)
    assert all(p.drop == 0.0 and p.error is None for p in gentle.perturbations)


def test_behaviour_tests_measure_changed_and_moved_rows(regions, flip_north, context_of):
    tests = [
        InvarianceTest("south is east", "region", lambda s: s.replace({"south": "east"})),
        InvarianceTest("north is south", "region", lambda s: s.replace({"north": "south"})),
        DirectionalTest("more x, higher score", "x", lambda s: s + 0.1, expect="increase"),
    ]
    result = BehaviourCheck(tests=tests).run(context_of(flip_north, regions, "y"))
    outcome = {t.name: (t.kind, t.measured, t.passed) for t in result.tests}
    assert outcome["south is east"] == ("invariance", 0.0, True)
    north = float((regions["region"] == "north").mean())
    assert outcome["north is south"] == ("invariance", pytest.approx(north), False)
    assert outcome["more x, higher score"] == ("directional", pytest.approx(1 - north), False)


def test_analysis_ranks_the_used_feature_and_traces_its_effect(context_of, tmp_path):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.uniform(0.0, 3.0, 400), "z": rng.normal(size=400)})
    frame["t"] = 2.0 * frame["x"] + 1.0 + rng.normal(0.0, 0.1, 400)
    path = save_model(Linear(), tmp_path / "m", input_example=frame[["x", "z"]].head()).path
    result = AnalysisCheck(top=1).run(context_of(path, frame, "t"))
    assert result.metric == "rmse"
    assert list(result.permutation_importance) == ["x", "z"]
    assert result.permutation_importance["x"] > 1.0 and result.permutation_importance["z"] == 0.0
    assert list(result.partial_dependence) == ["x"]
    curve = result.partial_dependence["x"]
    assert curve.y == pytest.approx([2.0 * v + 1.0 for v in curve.x])


def test_leakage_finds_a_feature_that_is_the_label(regions, flip_north, context_of):
    context = context_of(flip_north, regions, "y")
    result = LeakageCheck(train_data=regions.head(100)).run(context)
    found = {f.check: f for f in result.findings}
    assert set(found) == {"shared_rows", "predictive_feature"}
    assert found["shared_rows"].value == 100
    assert found["predictive_feature"].feature == "x" and found["predictive_feature"].value == 1.0


def test_leakage_is_quiet_on_clean_data(logistic, cancer, context_of):
    X, y = cancer
    result = LeakageCheck().run(context_of(logistic[1], X.assign(target=y), "target"))
    assert result.findings == () and result.to_dict() == []


def test_infra_check_reports_numbers_from_a_fresh_process(logistic, cancer, context_of):
    X, y = cancer
    _, path = logistic
    result = InfraCheck(rows=5).run(context_of(path, X.assign(target=y), "target"))
    assert result.loads is True and result.error is None
    assert result.size_mb == pytest.approx(load_model(path).size_bytes / 1e6)
    figures = result.figures
    assert 0 < figures["latency_p50_ms"] <= figures["latency_p95_ms"]
    assert 0 < figures["batch_latency_p50_ms"] <= figures["batch_latency_p95_ms"]
    assert figures["batch_rows"] == len(X)
    assert figures["load_s"] > 0 and figures["peak_memory_mb"] > 0


def test_infra_check_reports_a_model_that_does_not_load_there(logistic, cancer, context_of):
    X, y = cancer
    context = context_of(logistic[1], X.assign(target=y), "target", manifest_digest="0" * 64)
    result = InfraCheck(rows=1).run(context)
    assert result.loads is False and "digest mismatch" in (result.error or "")
    assert result.figures == {} and set(result.to_dict()) == {"size_mb", "loads", "error"}


def test_data_that_does_not_fit_the_model_is_refused(logistic, cancer, context_of):
    X, y = cancer
    _, path = logistic
    with pytest.raises(InvalidEvaluationData, match=r"lacks column\(s\) 'b'"):
        context_of(path, X.drop(columns="b").assign(target=y), "target")
    text = X.assign(target=y, c=X["c"].astype(object))
    text.loc[7, "c"] = "n/a"
    with pytest.raises(InvalidEvaluationData, match=r"'c'.*text.*'n/a' in row 7") as info:
        context_of(path, text, "target")
    assert "1 non-numeric value" in (info.value.hint or "")
    numeric_text = X.assign(target=y, c=X["c"].astype(str))  # numbers written as text
    assert context_of(path, numeric_text, "target").feature_columns == ("a", "b", "c", "d")


@pytest.mark.parametrize("name", plugins.names("checks"))
def test_every_check_stores_keyword_only_params(name: str) -> None:
    cls = plugins.load("checks", name)
    assert issubclass(cls, Check) and cls.name == name
    params = list(inspect.signature(cls).parameters.values())
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params), name
    given = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
    if name == "reference":
        given["reference"] = "models:/m@champion"
    check = cls(**given)
    assert check.get_params() == given
    assert cls(**check.get_params()).get_params() == given
    assert repr(check).startswith(f"{cls.__name__}(")


def test_the_checks_table_names_every_section() -> None:
    assert set(plugins.names("checks")) == {
        "analysis",
        "behaviour_tests",
        "curves",
        "fairness",
        "infra",
        "leakage",
        "metrics",
        "reference",
        "robustness",
        "slices",
    }
