"""The synthetic transactions: shape, reproducibility, the fraud rule and drift."""

from __future__ import annotations

import doctest
import importlib
import inspect
import re
from dataclasses import replace

import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

import loopml.datasets as ds
from loopml.datasets import (
    CATEGORICAL_COLUMNS,
    DEVICES,
    FEATURE_COLUMNS,
    FRAUD_RULE,
    HOME_COUNTRY,
    MERCHANT_CATEGORIES,
    SHIFTED_FRAUD_RULE,
    TARGET_COLUMN,
    ConceptDrift,
    CovariateShift,
    FraudRule,
    fraud_probability,
    generate_transactions,
)

START = "2026-10-01"
DRIFT_AT = pd.Timestamp("2026-10-16")

EXPECTED_DTYPES = {
    "transaction_id": "int64",
    "timestamp": "datetime64[ns]",
    "customer_id": "int64",
    "amount": "float64",
    "hour": "int64",
    "customer_age": "int64",
    "account_tenure_days": "int64",
    "txn_count_24h": "int64",
    "amount_sum_24h": "float64",
    "distance_from_home_km": "float64",
    "is_foreign": "bool",
    "card_present": "bool",
    "is_fraud": "int64",
}


@pytest.fixture(scope="module")
def month() -> pd.DataFrame:
    return generate_transactions(start=START, days=30, rows_per_day=2000, seed=0)


def _fit_and_score(train: pd.DataFrame, *tests: pd.DataFrame) -> list[float]:
    """Fit a gradient-boosted model on ``train``; its ROC-AUC on each of ``tests``."""

    def matrix(frame: pd.DataFrame) -> pd.DataFrame:
        x = frame[list(FEATURE_COLUMNS)].copy()
        for column in CATEGORICAL_COLUMNS:
            levels = sorted(train[column].unique())
            x[column] = pd.Categorical(x[column], categories=levels).codes
        return x

    # One thread: OpenMP oversubscription on a busy machine makes fit times erratic.
    with threadpool_limits(1):
        model = HistGradientBoostingClassifier(random_state=0)
        model.fit(matrix(train), train[TARGET_COLUMN])
        return [
            float(roc_auc_score(t[TARGET_COLUMN], model.predict_proba(matrix(t))[:, 1]))
            for t in tests
        ]


def test_public_surface_is_complete() -> None:
    # Order is checked for every package by tests/public/test_surface.py.
    for name in ds.__all__:
        assert hasattr(ds, name), name
    public = {n for n in vars(ds) if not n.startswith("_")} - {"annotations"}
    assert public == set(ds.__all__)


@pytest.mark.parametrize(
    "obj",
    [generate_transactions, fraud_probability, CovariateShift, ConceptDrift, FraudRule],
    ids=lambda o: o.__name__,
)
def test_documented_args_match_signature(obj: object) -> None:
    doc = inspect.getdoc(obj) or ""
    section = doc.split("Args:\n", 1)[1].split("\n\n", 1)[0]
    documented = re.findall(r"^    (\w+):", section, flags=re.MULTILINE)
    assert documented == list(inspect.signature(obj).parameters)  # type: ignore[arg-type]


@pytest.mark.parametrize("module", ["_drift", "_fraud", "_transactions"])
def test_docstring_examples_run(module: str) -> None:
    mod = importlib.import_module(f"loopml.datasets.{module}")
    result = doctest.testmod(mod, extraglobs=vars(ds), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_same_seed_same_frame(month: pd.DataFrame) -> None:
    again = generate_transactions(start=START, days=30, rows_per_day=2000, seed=0)
    pd.testing.assert_frame_equal(month, again)


def test_different_seeds_differ(month: pd.DataFrame) -> None:
    other = generate_transactions(start=START, days=30, rows_per_day=2000, seed=1)
    assert not month["amount"].equals(other["amount"])
    assert not month["timestamp"].equals(other["timestamp"])


def test_columns_and_dtypes(month: pd.DataFrame) -> None:
    assert list(month.columns) == [
        "transaction_id",
        "timestamp",
        "customer_id",
        *FEATURE_COLUMNS,
        TARGET_COLUMN,
    ]
    assert len(month) == 60_000
    for column, dtype in EXPECTED_DTYPES.items():
        assert str(month[column].dtype) == dtype, column
    for column in CATEGORICAL_COLUMNS:
        assert pd.api.types.is_string_dtype(month[column]), column
    assert not month.isna().any().any()


def test_values_are_consistent(month: pd.DataFrame) -> None:
    ts = month["timestamp"]
    assert ts.is_monotonic_increasing
    assert ts.min() >= pd.Timestamp(START)
    assert ts.max() < pd.Timestamp(START) + pd.Timedelta(days=30)
    assert month["transaction_id"].is_unique
    assert (month["hour"] == ts.dt.hour).all()
    assert set(month["merchant_category"]) == set(MERCHANT_CATEGORIES)
    assert set(month["device"]) == set(DEVICES)
    assert (month["card_present"] == month["device"].isin(["atm", "pos"])).all()
    assert (month["is_foreign"] == (month["country"] != HOME_COUNTRY)).all()
    assert 0.85 < (month["country"] == HOME_COUNTRY).mean() < 0.97
    assert (month["amount"] > 0).all()
    assert month["customer_age"].between(18, 90).all()
    assert (month["account_tenure_days"] >= 0).all()
    assert ((month["txn_count_24h"] == 0) == (month["amount_sum_24h"] == 0)).all()
    assert set(month[TARGET_COLUMN].unique()) == {0, 1}
    # Seasonality: the quiet night hours see far fewer transactions than midday.
    by_hour = month["hour"].value_counts()
    assert by_hour[3] * 5 < by_hour[12]
    # Amounts are skewed (log-normal) and depend on the category.
    medians = month.groupby("merchant_category")["amount"].median()
    assert medians["travel"] > 5 * medians["restaurants"]
    assert month["amount"].mean() > month["amount"].median()


def test_fraud_rate_is_low_and_follows_the_rule(month: pd.DataFrame) -> None:
    rate = month[TARGET_COLUMN].mean()
    assert 0.01 <= rate <= 0.03
    probability = fraud_probability(month)
    assert probability.shape == (len(month),)
    assert abs(probability.mean() - rate) < 0.003
    assert roc_auc_score(month[TARGET_COLUMN], probability) > 0.9


def test_model_learns_the_rule(month: pd.DataFrame) -> None:
    cut = pd.Timestamp(START) + pd.Timedelta(days=20)
    train, test = month[month["timestamp"] < cut], month[month["timestamp"] >= cut]
    (auc,) = _fit_and_score(train, test)
    assert auc > 0.85


def test_windows_share_customers_but_not_rows(month: pd.DataFrame) -> None:
    november = generate_transactions(start="2026-10-31", days=30, rows_per_day=2000, seed=0)
    assert not set(month["transaction_id"]) & set(november["transaction_id"])
    shared = set(month["customer_id"]) & set(november["customer_id"])
    assert len(shared) > 0.5 * month["customer_id"].nunique()
    ages = month.groupby("customer_id")["customer_age"].first()
    ages_nov = november.groupby("customer_id")["customer_age"].first()
    established = sorted(c for c in shared if c < 10_000_000)
    assert (ages[established] == ages_nov[established]).all()


def test_custom_base_rule_is_used() -> None:
    calm = replace(FRAUD_RULE, intercept=-30.0)
    frame = generate_transactions(start=START, days=2, rows_per_day=500, rule=calm)
    assert frame[TARGET_COLUMN].sum() == 0


def test_fraud_rule_reports_its_parameters() -> None:
    params = SHIFTED_FRAUD_RULE.to_dict()
    assert params["risky_categories"] == ["cash_withdrawal", "fuel"]
    assert params["intercept"] == SHIFTED_FRAUD_RULE.intercept
