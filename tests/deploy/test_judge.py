"""The Mann-Whitney judge: a trivial shift at large n passes, a real one fails, bounds and
too few samples give Fail and Inconclusive with their reasons."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopml.deploy import Judge, Outcome, hodges_lehmann
from loopml.errors import InvalidInput


@pytest.fixture
def rng():
    return np.random.default_rng(42)


def test_a_trivial_latency_shift_at_large_n_passes(rng):
    stable = rng.lognormal(3, 0.5, 50_000)
    canary = rng.lognormal(3, 0.5, 50_000) * 1.02
    result = Judge(direction="increase", tolerance=0.1).judge("latency", canary, stable)
    assert result.p_value is not None and result.p_value < 0.05  # significant...
    assert result.outcome is Outcome.PASS  # ...but within the practical band
    assert "within tolerance" in result.reason


def test_a_real_latency_shift_fails_with_its_effect_and_bound(rng):
    stable = rng.lognormal(3, 0.5, 2_000)
    canary = rng.lognormal(3, 0.5, 2_000) * 1.3
    result = Judge(direction="increase", tolerance=0.1).judge("latency", canary, stable)
    assert result.outcome is Outcome.FAIL
    assert result.effect is not None and result.bound is not None
    assert result.effect > result.bound
    assert "canary worse than stable" in result.reason


def test_improvement_in_the_good_direction_passes(rng):
    stable = rng.lognormal(3, 0.5, 2_000)
    result = Judge(direction="increase").judge("latency", stable * 0.5, stable)
    assert result.outcome is Outcome.PASS


def test_either_direction_catches_a_score_shift_both_ways(rng):
    stable = rng.normal(0.5, 0.1, 3_000)
    judge = Judge(direction="either", effect="cles", tolerance=0.06)
    assert judge.judge("score", stable + 0.05, stable).outcome is Outcome.FAIL
    assert judge.judge("score", stable - 0.05, stable).outcome is Outcome.FAIL
    assert judge.judge("score", rng.normal(0.5, 0.1, 3_000), stable).outcome is Outcome.PASS


def test_error_rates_compare_means_with_an_absolute_floor(rng):
    judge = Judge(direction="increase", effect="mean", tolerance=0.5, abs_tolerance=0.005)
    stable = (rng.random(20_000) < 0.01).astype(float)
    broken = (rng.random(20_000) < 0.05).astype(float)
    same = (rng.random(20_000) < 0.011).astype(float)
    assert judge.judge("error_rate", broken, stable).outcome is Outcome.FAIL
    assert judge.judge("error_rate", same, stable).outcome is Outcome.PASS
    # A stable error rate of 0 leaves the relative band empty; the absolute floor decides.
    zero = np.zeros(20_000)
    assert judge.judge("error_rate", (rng.random(20_000) < 0.002) * 1.0, zero).outcome is (
        Outcome.PASS
    )


def test_absolute_bounds_fail_first_and_name_value_and_bound(rng):
    judge = Judge(aggregate="p95", max=50.0)
    result = judge.judge("latency_p95", rng.uniform(0, 100, 500), rng.uniform(0, 100, 500))
    assert result.outcome is Outcome.FAIL
    assert result.bound == 50.0 and result.canary_value is not None and result.canary_value > 50
    assert "latency_p95 p95" in result.reason and "> max 50" in result.reason
    low = Judge(aggregate="mean", min=0.9, compare=False).judge("accuracy", np.full(100, 0.8))
    assert low.outcome is Outcome.FAIL and "< min 0.9" in low.reason
    ok = Judge(aggregate="mean", min=0.5, compare=False).judge("accuracy", np.full(100, 0.8))
    assert ok.outcome is Outcome.PASS


def test_too_few_samples_is_inconclusive(rng):
    judge = Judge(min_samples=50)
    assert judge.judge("latency", rng.random(10), rng.random(100)).outcome is Outcome.INCONCLUSIVE
    result = judge.judge("latency", rng.random(100), rng.random(10))
    assert result.outcome is Outcome.INCONCLUSIVE and "stable samples" in result.reason
    assert result.to_dict()["outcome"] == "inconclusive"


def test_bad_judges_are_refused():
    for bad in (
        {"direction": "up"},
        {"effect": "median"},
        {"tolerance": -1.0},
        {"min_samples": 0},
        {"aggregate": "p42"},
    ):
        with pytest.raises(InvalidInput):
            Judge(**bad)


@settings(max_examples=30, deadline=None)
@given(st.integers(1000, 1500), st.integers(700, 1200), st.floats(-5, 5))
def test_hodges_lehmann_is_equivariant_and_exact_by_bisection(n, m, shift):
    rng = np.random.default_rng(n * m)
    a, b = rng.normal(0, 1, n), rng.normal(0, 1, m)
    exact = float(np.median(np.subtract.outer(a, b)))
    assert hodges_lehmann(a + shift, b) == pytest.approx(exact + shift, abs=1e-3)
