"""The anytime-valid sequential test: its error rate survives a look after every batch (the
naive repeated z-test's does not), it finds a known effect, and its interval and p-value
agree."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopml.deploy import (
    ArmSummary,
    Decision,
    SequentialTest,
    naive_z_pvalues,
    tuned_effect_scale,
)
from loopml.errors import InvalidInput

ALPHA = 0.05


def _binary_paths(rng, sims, looks, batch, p_control, p_treatment):
    """Cumulative (n, mean, variance) per arm after every batch, for ``sims`` experiments."""
    n = np.arange(1, looks + 1) * batch
    out = []
    for p in (p_control, p_treatment):
        s = rng.binomial(batch, p, (sims, looks)).cumsum(axis=1)
        rate = s / n
        out += [n, rate, rate * (1 - rate) * n / (n - 1)]
    return out


def _normal_paths(rng, sims, looks, batch, shift):
    n = np.arange(1, looks + 1) * batch
    out = []
    for mu in (0.0, shift):
        x = rng.exponential(1.0, (sims, looks, batch)) + mu  # skewed, like a revenue metric
        total, total_sq = x.sum(axis=2).cumsum(axis=1), (x * x).sum(axis=2).cumsum(axis=1)
        mean = total / n
        out += [n, mean, (total_sq - n * mean * mean) / (n - 1)]
    return out


def _rejections(test, paths):
    """Share of experiments the anytime-valid test and the naive z-test ever reject in."""
    diff, lo, hi, p = test.statistics(*paths)
    n = np.broadcast_to(paths[0], p.shape)
    looked = n >= test.min_sample
    always_valid = ((np.minimum.accumulate(p, axis=1) <= ALPHA) & looked).any(axis=1)
    var = paths[2] / paths[0] + paths[5] / paths[3]
    naive = ((naive_z_pvalues(diff, var) <= ALPHA) & looked).any(axis=1)
    return always_valid.mean(), naive.mean()


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_aa_false_positive_rate_stays_at_alpha_with_a_look_after_every_batch(rate):
    rng = np.random.default_rng(20260)
    test = SequentialTest(alpha=ALPHA, min_sample=200)
    fpr, naive = _rejections(test, _binary_paths(rng, 2000, 60, 100, rate, rate))
    assert fpr <= ALPHA
    # Peeking 60 times at a z-test: the textbook inflation, several times alpha.
    assert naive >= 4 * ALPHA
    assert naive > 5 * fpr


def test_aa_false_positive_rate_on_skewed_means():
    rng = np.random.default_rng(7)
    test = SequentialTest(alpha=ALPHA, min_sample=200)
    fpr, naive = _rejections(test, _normal_paths(rng, 1000, 40, 50, 0.0))
    assert fpr <= ALPHA
    assert naive >= 3 * ALPHA


def test_finds_a_known_effect_and_its_direction():
    rng = np.random.default_rng(3)
    test = SequentialTest(alpha=ALPHA, min_sample=200)
    power, _ = _rejections(test, _binary_paths(rng, 500, 60, 100, 0.10, 0.13))
    assert power >= 0.8
    # The same numbers through the one-look API, for both orientations of "better".
    control, treatment = ArmSummary.from_binary(6000, 600), ArmSummary.from_binary(6000, 780)
    assert test.evaluate(control, treatment).decision is Decision.TREATMENT_BETTER
    lower_better = SequentialTest(alpha=ALPHA, min_sample=200, higher_is_better=False)
    assert lower_better.evaluate(control, treatment).decision is Decision.CONTROL_BETTER


def test_minimum_sample_holds_the_decision():
    test = SequentialTest(alpha=ALPHA, min_sample=500)
    r = test.evaluate(ArmSummary.from_binary(400, 4), ArmSummary.from_binary(400, 200))
    assert r.decision is Decision.CONTINUE
    assert "minimum sample" in r.reason
    assert r.p_value < ALPHA  # the evidence is carried, only the decision waits


def test_practical_band_decides_no_difference_at_large_n():
    test = SequentialTest(alpha=ALPHA, min_sample=200, practical=0.01)
    r = test.evaluate(
        ArmSummary.from_binary(200_000, 20_000), ArmSummary.from_binary(200_000, 20_100)
    )
    assert r.decision is Decision.NO_DIFFERENCE
    assert -0.01 < r.lower < r.upper < 0.01


def test_running_looks_match_the_vectorised_statistics():
    rng = np.random.default_rng(11)
    paths = _binary_paths(rng, 1, 30, 100, 0.2, 0.23)
    test = SequentialTest(alpha=ALPHA, min_sample=200)
    _, lo, hi, p = test.statistics(*paths)
    result = None
    for k in range(30):
        c = ArmSummary(int(paths[0][k]), float(paths[1][0, k]), float(paths[2][0, k]))
        t = ArmSummary(int(paths[3][k]), float(paths[4][0, k]), float(paths[5][0, k]))
        result = test.evaluate(c, t, previous=result)
    assert result is not None and result.looks == 30
    assert result.p_value == pytest.approx(float(np.min(p[0])))
    assert result.lower == pytest.approx(float(np.max(lo[0])))
    assert result.upper == pytest.approx(float(np.min(hi[0])))


@settings(max_examples=200, deadline=None)
@given(
    n_c=st.integers(2, 10**6),
    n_t=st.integers(2, 10**6),
    m_c=st.floats(-100, 100),
    m_t=st.floats(-100, 100),
    v_c=st.floats(1e-6, 1e4),
    v_t=st.floats(1e-6, 1e4),
)
def test_interval_and_p_value_are_dual(n_c, n_t, m_c, m_t, v_c, v_t):
    test = SequentialTest(alpha=ALPHA, min_sample=2)
    r = test.evaluate(ArmSummary(n_c, m_c, v_c), ArmSummary(n_t, m_t, v_t))
    assert 0.0 <= r.p_value <= 1.0
    assert r.lower <= r.estimate <= r.upper
    margin = 1e-9 * (1 + abs(r.estimate))
    if r.lower > margin or r.upper < -margin:
        assert r.p_value <= ALPHA * (1 + 1e-6)
    if r.lower < -margin and r.upper > margin:
        assert r.p_value >= ALPHA * (1 - 1e-6)
    assert r.decision in (Decision.CONTINUE, Decision.TREATMENT_BETTER, Decision.CONTROL_BETTER)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=2, max_size=20))
def test_running_p_value_never_increases(successes):
    test = SequentialTest(alpha=ALPHA, min_sample=2)
    result, n, s = None, 0, 0
    for k in successes:
        n, s = n + 50, s + k
        new = test.evaluate(ArmSummary.from_binary(n, n // 4), ArmSummary.from_binary(n, s), result)
        if result is not None:
            assert new.p_value <= result.p_value
            assert result.lower <= new.lower <= new.upper <= result.upper
        result = new


def test_tuned_scale_and_bad_arguments():
    assert tuned_effect_scale(5000, 0.05) == pytest.approx(math.sqrt(7.93 * 2 / 5000), rel=1e-2)
    assert SequentialTest(effect_scale=0.1).scale == 0.1
    for bad in ({"alpha": 1.5}, {"min_sample": 1}, {"practical": -1.0}, {"effect_scale": 0.0}):
        with pytest.raises(InvalidInput):
            SequentialTest(**bad)
    assert SequentialTest().evaluate(ArmSummary(0, 0, 0), ArmSummary(1, 1, 0)).decision is (
        Decision.CONTINUE
    )
    assert (
        SequentialTest().evaluate(ArmSummary(0, 0, 0), ArmSummary(1, 1, 0)).to_dict()["lower"]
        is None
    )
