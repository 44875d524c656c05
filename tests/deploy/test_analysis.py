"""The analysis spec: file:line errors, the verdict on an interval, and the next action."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from loopml.deploy import (
    Action,
    AnalysisOutcome,
    Verdict,
    judge_interval,
    load_analysis,
    next_action,
)
from loopml.entities import Arm, Deployment, DeploymentStatus, DeploymentStrategy
from loopml.errors import InvalidAnalysis, InvalidInput

SPEC = {
    "count": 2,
    "failure_limit": 0,
    "inconclusive_limit": 1,
    "metrics": {
        "error_rate": {"max": 0.05},
        "latency_p95": {"tolerance": 0.1, "max": 500},
        "score_shift": {},
    },
}


def _arm(rng: np.random.Generator, *, errors: float = 0.01, slow: float = 1.0) -> dict:
    return {
        "error_rate": rng.binomial(1, errors, 3000),
        "latency_p95": rng.lognormal(3, 0.5, 3000) * slow,
        "score_shift": rng.beta(2, 8, 3000),
    }


def test_a_failing_canary_fails_naming_the_metric() -> None:
    rng = np.random.default_rng(1)
    out = judge_interval(
        load_analysis(SPEC), {"stable": _arm(rng), "canary": _arm(rng, errors=0.2)}
    )
    assert out.verdict is Verdict.FAILED
    assert len(out.reasons) == 1 and out.reasons[0].startswith("error_rate")
    assert out.to_dict()["verdict"] == "Failed"


def test_a_slower_canary_fails_latency() -> None:
    rng = np.random.default_rng(2)
    out = judge_interval(load_analysis(SPEC), {"stable": _arm(rng), "canary": _arm(rng, slow=1.4)})
    assert out.verdict is Verdict.FAILED
    assert [r.metric for r in out.results if r.outcome.value == "fail"] == ["latency_p95"]


def test_a_good_canary_succeeds_and_too_few_samples_is_inconclusive() -> None:
    rng = np.random.default_rng(3)
    spec = load_analysis(SPEC)
    good = judge_interval(spec, {"stable": _arm(rng), "canary": _arm(rng)})
    assert good.verdict is Verdict.SUCCESSFUL and len(good.reasons) == 3
    thin = {k: v[:5] for k, v in _arm(rng).items()}
    unsure = judge_interval(spec, {"stable": _arm(rng), "canary": thin})
    assert unsure.verdict is Verdict.INCONCLUSIVE
    with pytest.raises(InvalidAnalysis, match="canary="):
        judge_interval(spec, {"stable": {}, "a": {}, "b": {}})


def test_a_live_metric_where_higher_is_better() -> None:
    rng = np.random.default_rng(4)
    spec = load_analysis({"metrics": {"accuracy": {"tolerance": 0.02, "min": 0.7}}})
    worse = judge_interval(
        spec,
        {
            "stable": {"accuracy": rng.binomial(1, 0.9, 4000)},
            "canary": {"accuracy": rng.binomial(1, 0.8, 4000)},
        },
    )
    assert worse.verdict is Verdict.FAILED and "accuracy" in worse.reasons[0]


@pytest.mark.parametrize(
    ("text", "line", "match"),
    [
        ("metrics:\n  error_rate: {max: 0.05}\n  latency_p90: {}\n", 3, "latency_p95"),
        ("metrics:\n  error_rate:\n    maxx: 0.05\n", 3, "did you mean 'max'"),
        ("count: 2\nmetrics:\n  error_rate: {max: high}\n", 3, "must be a number"),
        ("interval: 60\nmetrics: {error_rate: {}}\n", 1, "interval_s"),
        ("metrics: {}\n", 1, "at least one metric"),
        ("metrics:\n  error_rate: {}\nfailure_limit: -1\n", 3, "whole number"),
        ("metrics:\n  accuracy: {higher_is_better: maybe}\n", 2, "true or false"),
        ("metrics: [error_rate\n", 2, "not valid YAML"),
    ],
)
def test_spec_errors_point_at_file_and_line(
    tmp_path: Path, text: str, line: int, match: str
) -> None:
    path = tmp_path / "analysis.yaml"
    path.write_text(text)
    with pytest.raises(InvalidAnalysis, match=match) as info:
        load_analysis(path)
    assert str(info.value).startswith(f"{path}:{line}:")
    assert isinstance(info.value, InvalidInput)


def test_a_dict_spec_names_the_key_path() -> None:
    with pytest.raises(InvalidAnalysis, match=r"<dict>: metrics.error_rate.tolerance"):
        load_analysis({"metrics": {"error_rate": {"tolerance": -1}}})
    spec = load_analysis(SPEC)
    assert load_analysis(spec.to_dict()).to_dict() == SPEC and spec.count == 2


def _canary(step: int, weight: int, status: DeploymentStatus = DeploymentStatus.ACTIVE):
    return Deployment(
        "fraud",
        DeploymentStrategy.CANARY,
        (Arm("stable", "fraud", 1, 100 - weight), Arm("canary", "fraud", 2, weight)),
        status=status,
        step=step,
        analysis=SPEC,
    )


OK = AnalysisOutcome(Verdict.SUCCESSFUL, ())
BAD = AnalysisOutcome(Verdict.FAILED, ("error_rate mean 0.2 > max 0.05",))
UNSURE = AnalysisOutcome(Verdict.INCONCLUSIVE, ())


def test_next_action_follows_the_limits() -> None:
    assert next_action(_canary(0, 5), [OK]) is Action.WAIT
    assert next_action(_canary(0, 5), [OK, OK]) is Action.ADVANCE
    assert next_action(_canary(3, 100), [OK, OK]) is Action.PROMOTE
    assert next_action(_canary(1, 25), [OK, BAD]) is Action.ROLLBACK
    assert next_action(_canary(1, 25), [UNSURE]) is Action.WAIT
    assert next_action(_canary(1, 25), [UNSURE, UNSURE]) is Action.PAUSE
    assert next_action(_canary(1, 25, DeploymentStatus.PAUSED), [BAD]) is Action.WAIT
