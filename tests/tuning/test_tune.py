"""Tuning: trials are child runs, locally and on Dask; the best is reproducible from the store."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from loopml.config import load_settings
from loopml.entities import RunStatus
from loopml.errors import InvalidInput, MissingExtra
from loopml.tracking import TrackingClient
from loopml.tuning import cross_validate, to_distributions, tune
from tests.tuning._objectives import SPACE, flaky, quadratic

ROOT = Path(__file__).resolve().parents[2]


def _check_store(client: TrackingClient, result, n: int) -> None:  # type: ignore[no-untyped-def]
    children = client.search_runs(parent_id=result.parent_run_id, limit=1000)
    assert len(children) == n == len(result.trials)
    assert {c.id for c in children} == {t.run_id for t in result.trials}
    parent = client.get_run(result.parent_run_id)
    assert parent.status is RunStatus.FINISHED and parent.params["n_trials"] == str(n)
    best = client.get_run(parent.tags["loopml.tune.best_run_id"])
    recorded = json.loads(parent.tags["loopml.tune.best_params"])
    assert recorded == result.best_params
    assert best.params == {k: str(v) for k, v in result.best_params.items()}
    assert float(parent.tags["loopml.tune.best_value"]) == result.best_value
    history = client.metric_history(best.id, "objective")
    assert history[-1].value == result.best_value


def test_twenty_trials_in_process_with_pruning(client: TrackingClient) -> None:
    seen = []
    result = tune(
        quadratic, SPACE, n_trials=20, pruner="median", seed=1, client=client, progress=seen.append
    )
    assert len(seen) == 20
    assert {t.state for t in result.trials} <= {"COMPLETE", "PRUNED"}
    assert result.best_value > -1
    _check_store(client, result, 20)
    again = tune(quadratic, SPACE, n_trials=5, seed=1, client=client)
    first = tune(quadratic, SPACE, n_trials=5, seed=1, client=client)
    assert [t.params for t in again.trials] == [t.params for t in first.trials]


@pytest.mark.slow
def test_twenty_trials_in_local_processes(tmp_path: Path) -> None:
    client = TrackingClient.from_settings(load_settings(env={}, home=tmp_path / "home"))
    try:
        result = tune(
            quadratic, SPACE, n_trials=20, parallelism=2, pruner="median", seed=0, client=client
        )
        _check_store(client, result, 20)
    finally:
        client.close()


@pytest.mark.slow
@pytest.mark.dask
def test_twenty_trials_on_a_local_dask_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    client = TrackingClient.from_settings(load_settings(env={}, home=tmp_path / "home"))
    try:
        result = tune(
            quadratic, SPACE, n_trials=20, parallelism=2, executor="dask", seed=0, client=client
        )
        _check_store(client, result, 20)
    finally:
        client.close()


def test_failed_trials_are_failed_runs(client: TrackingClient) -> None:
    result = tune(
        flaky, {"x": {"type": "float", "low": -1, "high": 1}}, n_trials=8, seed=3, client=client
    )
    failed = [t for t in result.trials if t.state == "FAIL"]
    assert failed and all("negative x" in (t.error or "") for t in failed)
    assert client.get_run(failed[0].run_id).status is RunStatus.FAILED
    with pytest.raises(InvalidInput, match="no trial completed"):
        tune(flaky, {"x": {"type": "float", "low": -2, "high": -1}}, n_trials=2, client=client)


@pytest.mark.parametrize(
    ("space", "words"),
    [
        ({}, "non-empty"),
        ({"x": {"type": "float", "low": 1}}, "missing 'high'"),
        ({"x": {"type": "gaussian"}}, "unknown type"),
        ({"x": {"type": "int", "low": 1, "high": 2, "stride": 1}}, "unknown key"),
        ({"x": 3}, "cannot read"),
        ({"x": {"type": "categorical", "choices": []}}, "non-empty list"),
    ],
)
def test_bad_spaces(space: dict, words: str) -> None:
    with pytest.raises(InvalidInput) as info:
        to_distributions(space)
    assert words in info.value.message


def test_bad_arguments(client: TrackingClient) -> None:
    for kwargs in ({"n_trials": 0}, {"direction": "up"}, {"executor": "ray"}, {"pruner": "fancy"}):
        with pytest.raises(InvalidInput):
            tune(quadratic, SPACE, client=client, **kwargs)  # type: ignore[arg-type]


def test_cross_validate_logs_folds(client: TrackingClient) -> None:
    X, y = load_iris(return_X_y=True)
    result = cross_validate(
        LogisticRegression(max_iter=500),
        X,
        y,
        cv=3,
        scoring=["accuracy", "f1_macro"],
        client=client,
    )
    assert len(result.scores["accuracy"]["folds"]) == 3
    history = client.metric_history(result.run_id, "cv/accuracy")
    assert [m.step for m in history] == [0, 1, 2]
    mean = client.metric_history(result.run_id, "cv/f1_macro_mean")[0].value
    assert mean == pytest.approx(result.scores["f1_macro"]["mean"])
    assert client.get_run(result.run_id).params["cv"] == "3"


def test_a_missing_dask_extra_fails_before_the_parent_run(
    client: TrackingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec

    def without_distributed(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name.partition(".")[0] == "distributed" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", without_distributed)
    with pytest.raises(MissingExtra, match="dask"):
        tune(quadratic, SPACE, n_trials=2, executor="dask", client=client)
    assert client.search_runs() == []
