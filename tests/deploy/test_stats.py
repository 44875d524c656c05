"""Arm summaries and the sample-ratio-mismatch check: a good split passes, a broken one is
flagged."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopml.deploy import SRM_ALPHA, ArmSummary, srm_check
from loopml.errors import InvalidInput


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=200))
def test_summaries_from_samples_and_from_moments_agree(values):
    x = np.asarray(values)
    a = ArmSummary.from_samples(x)
    b = ArmSummary.from_moments(x.size, float(x.sum()), float((x * x).sum()))
    assert a.n == b.n
    assert b.mean == pytest.approx(a.mean, rel=1e-9, abs=1e-6)
    assert b.variance == pytest.approx(a.variance, rel=1e-6, abs=1e-3 * (1 + abs(a.mean)) ** 2)


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 10_000), st.data())
def test_binary_summary_is_the_0_1_sample(n, data):
    k = data.draw(st.integers(1, n - 1))
    a = ArmSummary.from_binary(n, k)
    b = ArmSummary.from_samples(np.r_[np.ones(k), np.zeros(n - k)])
    assert a.mean == pytest.approx(b.mean)
    assert a.variance == pytest.approx(b.variance)


def test_binary_summary_with_no_successes_keeps_a_spread():
    assert ArmSummary.from_binary(100, 0).variance > 0
    assert ArmSummary.from_binary(0, 0) == ArmSummary(0, 0.0, 0.0)
    with pytest.raises(InvalidInput):
        ArmSummary.from_binary(10, 11)
    with pytest.raises(InvalidInput):
        ArmSummary.from_samples([1.0, float("nan")])


def test_a_good_split_passes_the_ratio_check():
    rng = np.random.default_rng(5)
    flagged = 0
    for _ in range(200):
        stable = int(rng.binomial(20_000, 0.9))
        result = srm_check(
            {"stable": stable, "canary": 20_000 - stable}, {"stable": 90, "canary": 10}
        )
        assert result.judged
        flagged += result.mismatch
    assert flagged <= 2  # alpha = 0.001: about 0.2 of 200 expected
    assert "split holds" in srm_check({"a": 5000, "b": 5000}, {"a": 1, "b": 1}).reason


def test_a_broken_split_is_flagged():
    result = srm_check({"a": 10_400, "b": 9_600}, {"a": 50, "b": 50})
    assert result.mismatch
    assert result.p_value < SRM_ALPHA
    assert "sample ratio mismatch" in result.reason
    assert result.to_dict()["expected"] == {"a": 10_000.0, "b": 10_000.0}
    # Three arms, one of them starved (a crashing arm loses its units).
    assert srm_check({"a": 3300, "b": 3300, "c": 3000}, {"a": 1, "b": 1, "c": 1}).mismatch


def test_too_few_units_are_not_judged_and_bad_arguments_are_refused():
    result = srm_check({"a": 3, "b": 0}, {"a": 1, "b": 1})
    assert not result.judged and not result.mismatch
    assert "too few units" in result.reason
    with pytest.raises(InvalidInput):
        srm_check({"a": 1, "b": 1}, {"a": 1, "c": 1})
    with pytest.raises(InvalidInput):
        srm_check({"a": 1, "b": 1}, {"a": 1, "b": 0})
    with pytest.raises(InvalidInput):
        srm_check({"a": 1, "b": 1}, {"a": 1, "b": 1}, alpha=0)
