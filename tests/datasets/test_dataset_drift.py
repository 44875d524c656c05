"""Covariate shift and concept drift in the synthetic transactions."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from loopml.datasets import (
    CATEGORICAL_COLUMNS,
    FEATURE_COLUMNS,
    TARGET_COLUMN,
    ConceptDrift,
    CovariateShift,
    fraud_probability,
    generate_transactions,
)

START = "2026-10-01"
DRIFT_AT = pd.Timestamp("2026-10-16")


def _generate(drift: Sequence[CovariateShift | ConceptDrift] = ()) -> pd.DataFrame:
    return generate_transactions(start=START, days=30, rows_per_day=2000, seed=7, drift=drift)


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    return _generate()


def _split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    before = frame["timestamp"] < DRIFT_AT
    return frame[before], frame[~before]


def test_covariate_shift_changes_only_rows_after_its_start(base: pd.DataFrame) -> None:
    shift = CovariateShift(
        start=DRIFT_AT,
        amount_factor=1.5,
        new_country="BR",
        new_country_share=0.1,
        device_weights={"mobile": 3.0},
    )
    shifted = _generate([shift])
    base_before, base_after = _split(base)
    before, after = _split(shifted)

    pd.testing.assert_frame_equal(before, base_before)
    assert "BR" not in set(before["country"])
    assert 0.08 < (after["country"] == "BR").mean() < 0.12
    assert after.loc[after["country"] == "BR", "is_foreign"].all()
    assert after.loc[after["country"] == "BR", "distance_from_home_km"].median() > 5000
    ratio = after["amount"].mean() / base_after["amount"].mean()
    assert 1.4 < ratio < 1.6
    assert (after["device"] == "mobile").mean() > 1.4 * (base_after["device"] == "mobile").mean()
    # The rows keep everything else: same times, customers and categories.
    for column in ("timestamp", "customer_id", "merchant_category", "hour"):
        assert after[column].equals(base_after[column]), column


def test_shifts_compound_in_order(base: pd.DataFrame) -> None:
    first = CovariateShift(start="2026-10-11", amount_factor=2.0)
    second = CovariateShift(start="2026-10-21", amount_factor=2.0)
    frame = _generate([first, second])
    ts = frame["timestamp"]
    late = ts >= pd.Timestamp("2026-10-21")
    middle = (ts >= pd.Timestamp("2026-10-11")) & ~late
    assert (frame.loc[middle, "amount"] - 2 * base.loc[middle, "amount"]).abs().max() < 0.011
    assert (frame.loc[late, "amount"] - 4 * base.loc[late, "amount"]).abs().max() < 0.021


def test_concept_drift_degrades_a_model_trained_before_it(base: pd.DataFrame) -> None:
    drifted = _generate([ConceptDrift(start=DRIFT_AT)])
    train, base_after = _split(base)
    drifted_before, drifted_after = _split(drifted)
    pd.testing.assert_frame_equal(drifted_before, train)
    # Features are untouched: only the labels follow the new rule.
    pd.testing.assert_frame_equal(
        drifted_after[list(FEATURE_COLUMNS)], base_after[list(FEATURE_COLUMNS)]
    )
    assert 0.01 <= drifted_after[TARGET_COLUMN].mean() <= 0.03

    def matrix(frame: pd.DataFrame) -> pd.DataFrame:
        x = frame[list(FEATURE_COLUMNS)].copy()
        for column in CATEGORICAL_COLUMNS:
            levels = sorted(train[column].unique())
            x[column] = pd.Categorical(x[column], categories=levels).codes
        return x

    with threadpool_limits(1):
        model = HistGradientBoostingClassifier(random_state=0)
        model.fit(matrix(train), train[TARGET_COLUMN])
        auc_stable = roc_auc_score(
            base_after[TARGET_COLUMN], model.predict_proba(matrix(base_after))[:, 1]
        )
        auc_drifted = roc_auc_score(
            drifted_after[TARGET_COLUMN], model.predict_proba(matrix(drifted_after))[:, 1]
        )
    assert auc_stable > 0.85
    assert auc_stable - auc_drifted > 0.1
    # The new concept is learnable again from post-drift data (what retraining relies on).
    truth = fraud_probability(drifted_after, drift=[ConceptDrift(start=DRIFT_AT)])
    assert roc_auc_score(drifted_after[TARGET_COLUMN], truth) > 0.85


def test_concept_drift_strength_zero_changes_nothing(base: pd.DataFrame) -> None:
    frame = _generate([ConceptDrift(start=DRIFT_AT, strength=0.0)])
    pd.testing.assert_frame_equal(frame, base)


def test_fraud_probability_follows_concept_drift(base: pd.DataFrame) -> None:
    drift = [ConceptDrift(start=DRIFT_AT, strength=0.5)]
    before, after = _split(base)
    p_plain = fraud_probability(base)
    p_drift = fraud_probability(base, drift=drift)
    mask = (base["timestamp"] >= DRIFT_AT).to_numpy()
    assert (p_plain[~mask] == p_drift[~mask]).all()
    assert (p_plain[mask] != p_drift[mask]).mean() > 0.9
    # Half the fraud follows the new rule, and the rate stays where it was.
    assert 0.01 < p_drift[mask].mean() < 0.03
    # Covariate shifts in the list are ignored: they act on features, not on the rule.
    shift = CovariateShift(start=DRIFT_AT, amount_factor=3.0)
    assert (fraud_probability(base, drift=[shift]) == p_plain).all()
    assert len(before) + len(after) == len(base)


def test_drift_outside_the_window_is_a_no_op(base: pd.DataFrame) -> None:
    later: list[CovariateShift | ConceptDrift] = [
        CovariateShift(start="2027-01-01", amount_factor=2.0),
        ConceptDrift(start="2027-01-01"),
    ]
    pd.testing.assert_frame_equal(_generate(later), base)
    earlier = _generate(
        [CovariateShift(start="2026-01-01", new_country="BR", new_country_share=0.2)]
    )
    assert (earlier["country"] == "BR").mean() > 0.15


def test_drift_items_are_frozen_and_comparable() -> None:
    a = CovariateShift(start="2026-10-16", amount_factor=1.5)
    b = CovariateShift(start=pd.Timestamp("2026-10-16").to_pydatetime(), amount_factor=1.5)
    assert a == b
    assert hash(a) == hash(b)
    assert a.start == pd.Timestamp("2026-10-16")
    with pytest.raises(AttributeError):
        a.amount_factor = 2.0  # type: ignore[misc]
    assert ConceptDrift(start="2026-10-16") == ConceptDrift(start="2026-10-16T00:00")
