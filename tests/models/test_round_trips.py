"""Every flavour: save -> load -> predict equals the raw model, on tables and arrays.

Each case fits a small model, saves it, loads it back from disk and compares predictions
(and probabilities, where the model has them) with the object that was saved. The
manifest is checked for what a user relies on later: the flavour, the model class, the
pinned requirements and a payload digest that ignores metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from loopml.models import PythonModel, load_model, save_model

ROWS = 240


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Four numeric features, a binary label, a three-class label."""
    rng = np.random.default_rng(11)
    X = pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 40.0, ROWS),
            "hour": rng.integers(0, 24, ROWS).astype("int64"),
            "age": rng.normal(40, 12, ROWS),
            "score": rng.uniform(0, 1, ROWS),
        }
    )
    binary = pd.Series((X["amount"] / 80 + X["score"] > 1.2).astype("int64"), name="y")
    classes = pd.Series(pd.cut(X["age"], [-np.inf, 33, 47, np.inf], labels=False), name="c")
    return X, binary, classes.astype("int64")


@pytest.fixture(scope="module")
def mixed(table: tuple[pd.DataFrame, pd.Series, pd.Series]) -> pd.DataFrame:
    """The same rows with a string column, for pipelines that encode categories."""
    X, _, _ = table
    rng = np.random.default_rng(3)
    return X.assign(country=rng.choice(["DE", "FR", "NL"], ROWS))


@dataclass(frozen=True)
class Case:
    """One flavour case: how to fit it and what the saved model must report."""

    id: str
    flavor: str
    fit: Callable[[pd.DataFrame, pd.Series, pd.Series], Any]
    label: str = "binary"  # which target to fit on: binary, classes or amount
    proba: bool = True
    requirement: str = "scikit-learn"
    needs: str | None = None  # module to importorskip
    exact: bool = True  # predictions equal exactly (else allclose)


def _xgb_booster(X: pd.DataFrame, y: pd.Series) -> Any:
    import xgboost

    return xgboost.train(
        {"objective": "binary:logistic", "max_depth": 3}, xgboost.DMatrix(X, y), 10
    )


def _lgb_booster(X: pd.DataFrame, y: pd.Series) -> Any:
    import lightgbm

    return lightgbm.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 7}, lightgbm.Dataset(X, y), 10
    )


def _xgb(kind: str) -> Callable[..., Any]:
    def fit(X: pd.DataFrame, y: pd.Series) -> Any:
        import xgboost

        cls = xgboost.XGBClassifier if kind == "clf" else xgboost.XGBRegressor
        return cls(n_estimators=10, max_depth=3).fit(X, y)

    return fit


def _lgb(kind: str) -> Callable[..., Any]:
    def fit(X: pd.DataFrame, y: pd.Series) -> Any:
        import lightgbm

        cls = lightgbm.LGBMClassifier if kind == "clf" else lightgbm.LGBMRegressor
        return cls(n_estimators=10, num_leaves=7, verbose=-1).fit(X, y)

    return fit


class Scorer(PythonModel):
    """A custom model: a weighted sum, squashed into a probability."""

    def __init__(self, weights: dict[str, float]) -> None:
        self.weights = weights

    def _score(self, data: pd.DataFrame) -> np.ndarray:
        z = sum(w * data[c].to_numpy() for c, w in self.weights.items())
        return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        return (self._score(data) > 0.5).astype("int64")

    def predict_proba(self, data: pd.DataFrame) -> np.ndarray:
        p = self._score(data)
        return np.column_stack([1 - p, p])


CASES = [
    Case(
        "sklearn-skops-logistic", "sklearn", lambda X, y: LogisticRegression(max_iter=500).fit(X, y)
    ),
    Case(
        "sklearn-skops-forest-multiclass",
        "sklearn",
        lambda X, y: RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y),
        label="classes",
    ),
    Case("sklearn-ridge", "sklearn", lambda X, y: Ridge().fit(X, y), label="amount", proba=False),
    Case("xgboost-classifier", "xgboost", _xgb("clf"), requirement="xgboost", needs="xgboost"),
    Case(
        "xgboost-multiclass",
        "xgboost",
        _xgb("clf"),
        label="classes",
        requirement="xgboost",
        needs="xgboost",
    ),
    Case(
        "xgboost-regressor",
        "xgboost",
        _xgb("reg"),
        label="amount",
        proba=False,
        requirement="xgboost",
        needs="xgboost",
    ),
    Case(
        "xgboost-booster",
        "xgboost",
        _xgb_booster,
        proba=False,
        requirement="xgboost",
        needs="xgboost",
    ),
    Case("lightgbm-classifier", "lightgbm", _lgb("clf"), requirement="lightgbm", needs="lightgbm"),
    Case(
        "lightgbm-multiclass",
        "lightgbm",
        _lgb("clf"),
        label="classes",
        requirement="lightgbm",
        needs="lightgbm",
        exact=False,
    ),
    Case(
        "lightgbm-regressor",
        "lightgbm",
        _lgb("reg"),
        label="amount",
        proba=False,
        requirement="lightgbm",
        needs="lightgbm",
    ),
    Case(
        "lightgbm-booster",
        "lightgbm",
        _lgb_booster,
        proba=False,
        requirement="lightgbm",
        needs="lightgbm",
    ),
    Case(
        "python-function",
        "python_function",
        lambda X, y: Scorer({"amount": 0.02, "score": 1.0, "age": -0.01}),
        requirement="numpy",
    ),
]


def _target(table: tuple[pd.DataFrame, pd.Series, pd.Series], label: str) -> pd.Series:
    X, binary, classes = table
    return {"binary": binary, "classes": classes, "amount": X["amount"] * 0.5 + X["age"]}[label]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_flavour_round_trip_predicts_like_the_raw_model(
    case: Case, table: tuple[pd.DataFrame, pd.Series, pd.Series], tmp_path: Path
) -> None:
    if case.needs:
        pytest.importorskip(case.needs)
    X, _, _ = table
    raw = case.fit(X, _target(table, case.label))
    saved = save_model(raw, tmp_path / "model", input_example=X.head(8))
    assert saved.flavor == case.flavor  # detected from the object, never named
    loaded = load_model(saved.path)
    assert loaded.flavor == case.flavor and loaded.digest == saved.digest
    assert loaded.model_class == f"{type(raw).__module__}.{type(raw).__qualname__}"
    assert _pins(case.requirement) & {r.split("==")[0] for r in loaded.manifest.requirements}
    assert loaded.signature is not None and loaded.signature.columns == list(X.columns)

    expected = _raw_predict(raw, X)
    compare = np.testing.assert_array_equal if case.exact else np.testing.assert_allclose
    compare(loaded.predict(X), expected)
    # a reordered frame with an extra column predicts the same: the signature picks columns
    shuffled = X[list(reversed(X.columns))].assign(unused="x")
    compare(loaded.predict(shuffled), expected)
    assert loaded.has_proba is case.proba
    if case.proba:
        np.testing.assert_allclose(loaded.predict_proba(X), raw.predict_proba(X), rtol=1e-6)


def _pins(module: str) -> set[str]:
    """Distributions that may provide ``module`` (xgboost also ships as xgboost-cpu)."""
    from importlib.metadata import packages_distributions

    return {module, *packages_distributions().get(module.replace("-", "_"), [])}


def _raw_predict(raw: Any, X: pd.DataFrame) -> np.ndarray:
    module = type(raw).__module__.split(".")[0]
    if module == "xgboost" and type(raw).__name__ == "Booster":
        import xgboost

        return np.asarray(raw.predict(xgboost.DMatrix(X)))
    return np.asarray(raw.predict(X))


def test_sklearn_pipeline_with_categories_round_trips_with_skops_and_pickle(
    mixed: pd.DataFrame, table: tuple[pd.DataFrame, pd.Series, pd.Series], tmp_path: Path
) -> None:
    _, y, _ = table
    encode = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["country"]),
            ("num", StandardScaler(), ["amount", "hour", "age", "score"]),
        ]
    )
    pipe = Pipeline([("encode", encode), ("model", LogisticRegression(max_iter=500))]).fit(mixed, y)
    for serialization in ("skops", "pickle"):
        saved = save_model(
            pipe,
            tmp_path / serialization,
            input_example=mixed.head(),
            options={"serialization": serialization},
        )
        loaded = load_model(saved.path)
        assert loaded.manifest.options["serialization"] == serialization
        np.testing.assert_array_equal(loaded.predict(mixed), pipe.predict(mixed))
        np.testing.assert_array_equal(loaded.predict_proba(mixed), pipe.predict_proba(mixed))
        assert {c.name: c.dtype for c in loaded.signature.inputs}["country"] == "string"
    skops_files = {p.name for p in (tmp_path / "skops").iterdir()}
    assert skops_files == {"model.skops", "input_example.json", "loopml-model.json"}
    assert {p.name for p in (tmp_path / "pickle").iterdir()} >= {"model.pkl"}


def test_onnx_converts_numeric_and_mixed_pipelines(
    mixed: pd.DataFrame, table: tuple[pd.DataFrame, pd.Series, pd.Series], tmp_path: Path
) -> None:
    pytest.importorskip("skl2onnx")
    pytest.importorskip("onnxruntime")
    X, y, _ = table
    regressor = Ridge().fit(X, X["amount"] * 2)
    reg = load_model(
        save_model(regressor, tmp_path / "r", flavor="onnx", input_example=X.head()).path
    )
    assert reg.flavor == "onnx"
    # float32 inside the ONNX graph: equal to the raw model to single precision
    np.testing.assert_allclose(reg.predict(X), regressor.predict(X), rtol=1e-4)
    np.testing.assert_allclose(reg.predict(X.to_numpy()), regressor.predict(X), rtol=1e-4)
    assert _pins("onnxruntime") & {r.split("==")[0] for r in reg.manifest.requirements}

    encode = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["country"]),
            ("num", StandardScaler(), ["amount", "hour", "age", "score"]),
        ]
    )
    pipe = Pipeline([("encode", encode), ("model", LogisticRegression(max_iter=500))]).fit(mixed, y)
    clf = load_model(
        save_model(pipe, tmp_path / "c", flavor="onnx", input_example=mixed.head()).path
    )
    inputs = [i.name for i in clf.raw.inputs]
    assert inputs == list(mixed.columns)  # one ONNX input per column of a mixed table
    np.testing.assert_array_equal(clf.predict(mixed), pipe.predict(mixed))
    np.testing.assert_allclose(clf.predict_proba(mixed), pipe.predict_proba(mixed), atol=1e-5)


def test_payload_digest_ignores_metadata_and_time(
    table: tuple[pd.DataFrame, pd.Series, pd.Series], tmp_path: Path
) -> None:
    X, y, _ = table
    model = LogisticRegression(max_iter=500).fit(X, y)
    # pickle writes equal bytes for an equal model (skops embeds object ids, so it does not)
    pickled = {"serialization": "pickle"}
    first = save_model(
        model, tmp_path / "a", input_example=X.head(), metadata={"note": "a"}, options=pickled
    )
    second = save_model(
        model, tmp_path / "b", input_example=X.head(3), metadata={"note": "b"}, options=pickled
    )
    assert first.payload_digest == second.payload_digest  # same model bytes
    assert first.digest != second.digest  # different manifests: different identities
    refit = LogisticRegression(max_iter=500, C=0.01).fit(X, y)
    assert save_model(refit, tmp_path / "c", options=pickled).payload_digest != first.payload_digest
    assert load_model(first.path).manifest.metadata == {"note": "a"}


def test_explicit_flavour_and_options_win_over_detection(
    table: tuple[pd.DataFrame, pd.Series, pd.Series], tmp_path: Path
) -> None:
    X, y, _ = table
    model = LogisticRegression(max_iter=500).fit(X, y)
    # any object with predict() may be saved as python_function, an estimator included
    as_function = save_model(model, tmp_path / "f", flavor="python_function")
    loaded = load_model(as_function.path)
    assert loaded.flavor == "python_function"
    assert [p.name for p in sorted(as_function.path.iterdir())] == [
        "loopml-model.json",
        "python_model.pkl",
    ]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.signature is None and loaded.input_example() is None  # nothing to infer from


def test_requirements_pin_the_distribution_that_provides_a_package(
    table: tuple[pd.DataFrame, pd.Series, pd.Series], tmp_path: Path
) -> None:
    X, _, _ = table
    model = Scorer({"amount": 1.0})  # python_function pins numpy and pandas only
    saved = save_model(
        model, tmp_path / "m", extra_requirements=("sklearn", "surely-not-installed-dist")
    )
    pins = [p.split("==")[0] for p in load_model(saved.path).manifest.requirements]
    # "sklearn" is an import name, not a distribution: the pin names the one providing it
    assert pins == ["numpy", "pandas", "scikit-learn"]
