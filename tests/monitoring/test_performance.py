"""Live and estimated performance: realised metrics per window with missing, late and
duplicate labels; CBPE's estimate against realised accuracy on a calibrated model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from loopml.errors import InvalidInput
from loopml.monitoring import (
    estimate_performance,
    fit_calibration,
    parse_window,
    performance,
)
from loopml.monitoring._windows import window_slices


def _log(n: int, seed: int, *, shift: float = 0.0, distort: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    p = 1 / (1 + np.exp(-2.0 * x))
    y = (rng.random(n) < p).astype(int)
    # distorted: shrunk towards 0.5, not calibrated until fitted on a reference
    score = 0.5 + (p - 0.5) * 0.4 if distort else p
    return pd.DataFrame(
        {
            "prediction_id": [f"p{i}" for i in range(n)],
            "row": 0,
            "time_ms": 1_700_000_000_000 + np.arange(n) * 1000,
            "in.x": x,
            "out.predict": (p >= 0.5).astype(int),
            "out.predict_proba": score,
            "label": pd.Series(y, dtype=object),
            "label_updates": 1,
            "label_time_ms": pd.array(1_700_000_000_000 + np.arange(n) * 1000, "Int64"),
        }
    )


def test_realised_metrics_match_scipy_free_definitions() -> None:
    log = _log(3000, 1)
    report = performance(log, window="1000")
    assert [w.rows for w in report.windows] == [1000, 1000, 1000]
    first = log.iloc[:1000]
    truth = first["label"].astype(int).to_numpy()
    pred = first["out.predict"].to_numpy()
    got = report.windows[0].realised
    assert got["accuracy"] == pytest.approx(float(np.mean(truth == pred)))
    tp = np.sum((pred == 1) & (truth == 1))
    assert got["precision"] == pytest.approx(tp / np.sum(pred == 1))
    assert got["recall"] == pytest.approx(tp / np.sum(truth == 1))
    u = stats.mannwhitneyu(
        first["out.predict_proba"][truth == 1], first["out.predict_proba"][truth == 0]
    ).statistic
    assert got["auc"] == pytest.approx(u / (np.sum(truth == 1) * np.sum(truth == 0)))
    assert report.task == "classification"
    assert report.score == "out.predict_proba"


def test_missing_late_and_duplicate_labels_are_counted() -> None:
    log = _log(2000, 2)
    log.loc[log.index[:500], "label"] = None  # never labelled
    log.loc[log.index[:500], "label_updates"] = 0
    log.loc[log.index[:500], "label_time_ms"] = pd.NA
    late = log.index[500:800]
    log.loc[late, "label_time_ms"] = log["time_ms"].iloc[-1] + 3_600_000  # an hour after
    log.loc[log.index[900:1000], "label_updates"] = 3  # replaced twice; latest kept
    report = performance(log, window="1000")
    first = report.windows[0]
    assert first.rows == 1000
    assert first.labelled == 500
    assert first.labelled_fraction == pytest.approx(0.5)
    assert first.late_labels == 300
    assert first.duplicate_labels == 100
    kept = log.iloc[500:1000]
    want = float(np.mean(kept["label"].astype(int) == kept["out.predict"]))
    assert first.realised["accuracy"] == pytest.approx(want)
    # as of before the late labels landed, they are not there yet
    before = performance(log, window="1000", as_of_ms=int(log["time_ms"].iloc[-1]) + 10)
    assert before.windows[0].labelled == 200
    assert before.windows[0].late_labels == 0


def test_a_window_without_labels_has_no_realised_metrics() -> None:
    log = _log(1000, 3)
    log["label"] = None
    report = performance(log, window="500")
    assert all(w.labelled == 0 for w in report.windows)
    assert all(v is None for w in report.windows for v in w.realised.values())
    assert report.windows[0].estimated["accuracy"] is not None


@pytest.mark.parametrize("seed", range(5))
def test_cbpe_estimate_is_within_tolerance_of_realised_accuracy(seed: int) -> None:
    reference = _log(20_000, 100 + seed, distort=True)
    live = _log(10_000, 200 + seed, distort=True)
    report = estimate_performance(live, window="2000", reference=reference)
    realised = performance(live, window="2000").windows
    for est, real in zip(report.windows, realised, strict=True):
        assert est.labelled == 0  # estimated without a single label
        gap = abs(est.estimated["accuracy"] - real.realised["accuracy"])
        sigma = est.estimated_std["accuracy"]
        assert sigma is not None and sigma < 0.02
        assert gap <= 4 * sigma + 0.005, (seed, gap, sigma)


def test_uncalibrated_scores_mislead_and_the_reference_fixes_them() -> None:
    reference = _log(20_000, 7, distort=True)
    live = _log(5_000, 8, distort=True)
    real = performance(live, window="5000").windows[0].realised["accuracy"]
    raw = estimate_performance(live, window="5000").windows[0].estimated["accuracy"]
    fitted = estimate_performance(live, window="5000", reference=reference)
    assert abs(raw - real) > 0.05
    assert abs(fitted.windows[0].estimated["accuracy"] - real) < 0.02


def test_calibration_is_monotone() -> None:
    rng = np.random.default_rng(0)
    s = rng.random(5000)
    y = (rng.random(5000) < s**3).astype(int)
    cal = fit_calibration(s, y)
    grid = np.linspace(0, 1, 101)
    out = cal(grid)
    assert np.all(np.diff(out) >= -1e-12)
    assert out[90] == pytest.approx(0.9**3, abs=0.08)


def test_regression_metrics() -> None:
    rng = np.random.default_rng(4)
    truth = rng.normal(0, 1, 1000)
    pred = truth + rng.normal(0, 0.5, 1000)
    log = pd.DataFrame(
        {"time_ms": np.arange(1000), "out.value": pred, "label": truth.astype(object)}
    )
    report = performance(log, window="1000", task="regression")
    got = report.windows[0].realised
    assert got["mae"] == pytest.approx(float(np.mean(np.abs(pred - truth))))
    assert got["rmse"] == pytest.approx(math.sqrt(float(np.mean((pred - truth) ** 2))))


def test_window_plans() -> None:
    assert parse_window("1000").kind == "tumbling"
    assert parse_window("1h/15m").describe() == "1h/15m"
    assert parse_window("1000/250").step == 250
    for bad in ("soon", "10/20", "1h/100", "0"):
        with pytest.raises(InvalidInput):
            parse_window(bad)
    times = np.arange(0, 10_000, 10, dtype=np.int64)  # 1,000 rows over 10 s
    count = window_slices(times, parse_window("400/200"))
    assert [(lo, hi) for lo, hi, *_ in count] == [(0, 400), (200, 600), (400, 800), (600, 1000)]
    timed = window_slices(times, parse_window("4s/2s"))
    assert [(s, e) for *_, s, e in timed] == [
        (-2000, 2000),
        (0, 4000),
        (2000, 6000),
        (4000, 8000),
        (6000, 10000),
        (8000, 12000),
    ]
    assert sum(hi - lo for lo, hi, *_ in window_slices(times, parse_window("3s"))) == 1000
