"""Detection on the fraud generator's drift scenarios: covariate shift found by the drift
report (and a same-period control left alone), concept drift found by the realised metrics
and by ADWIN on the error stream once labels arrive (and missed, as it must be, by the
label-free CBPE estimate)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from loopml.datasets import (
    CATEGORICAL_COLUMNS,
    FEATURE_COLUMNS,
    TARGET_COLUMN,
    ConceptDrift,
    CovariateShift,
    generate_transactions,
)
from loopml.monitoring import detect_concept_drift, drift, performance

FEATURES = list(FEATURE_COLUMNS)
NUMERIC = [c for c in FEATURE_COLUMNS if c not in CATEGORICAL_COLUMNS]


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return generate_transactions(start="2026-10-01", days=10, rows_per_day=3000, seed=1)


def test_covariate_shift_is_detected_and_the_control_is_quiet(train: pd.DataFrame) -> None:
    shift = CovariateShift(
        start="2026-10-11", amount_factor=1.5, new_country="BR", new_country_share=0.1
    )
    shifted = generate_transactions(
        start="2026-10-11", days=5, rows_per_day=3000, seed=3, drift=[shift]
    )
    report = drift(train[FEATURES], shifted[FEATURES])
    assert {"amount", "country", "amount_sum_24h"} <= set(report.drifted_columns)
    assert "BR" in report.feature("country").new_categories
    control = generate_transactions(start="2026-10-11", days=5, rows_per_day=3000, seed=3)
    assert drift(train[FEATURES], control[FEATURES]).drifted_columns == []


def test_concept_drift_is_detected_from_labels(train: pd.DataFrame) -> None:
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0)
    model.fit(train[NUMERIC].astype(float), train[TARGET_COLUMN])
    later = generate_transactions(
        start="2026-10-11",
        days=10,
        rows_per_day=3000,
        seed=2,
        drift=[ConceptDrift(start="2026-10-16")],
    )
    cut = int((later["timestamp"] < "2026-10-16").sum())
    p = model.predict_proba(later[NUMERIC].astype(float))[:, 1]
    y = later[TARGET_COLUMN].to_numpy()
    # the inputs' drift report cannot tell: the rule changed, not the inputs' amounts
    assert "amount" not in drift(train[FEATURES], later[FEATURES].iloc[cut:]).drifted_columns
    # ADWIN on the squared error (Brier) stream: nothing before the change, found after it
    hits = detect_concept_drift((p - y) ** 2, "adwin")
    assert hits and all(h >= cut for h in hits)
    assert hits[0] - cut < 10_000
    log = pd.DataFrame(
        {
            "time_ms": later["timestamp"].astype("int64") // 10**6,
            "out.predict": (p >= 0.5).astype(int),
            "out.predict_proba": p,
            "label": pd.Series(y, dtype=object),
        }
    )
    daily = performance(log, window="1d").windows
    days = pd.to_datetime([w.start_ms for w in daily], unit="ms")
    before = [w for w, d in zip(daily, days, strict=True) if d < pd.Timestamp("2026-10-16")]
    after = [w for w, d in zip(daily, days, strict=True) if d >= pd.Timestamp("2026-10-16")]
    assert min(w.realised["auc"] for w in before) > 0.85
    assert max(w.realised["auc"] for w in after) < 0.6
    # the label-free estimate is blind to a concept drift: it stays where it was
    est_before = np.mean([w.estimated["accuracy"] for w in before])
    est_after = np.mean([w.estimated["accuracy"] for w in after])
    assert abs(est_after - est_before) < 0.01
