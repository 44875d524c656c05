"""The domain classifier: finds a change in how features move together that every
per-feature test misses, and stays quiet on same-distribution windows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from loopml import data
from loopml.errors import InvalidInput
from loopml.monitoring import drift
from tests.fixtures.cli import Cli


def _pair(n: int, rho: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = rho * x + np.sqrt(1 - rho * rho) * rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": y, "c": rng.choice(["a", "b"], n)})


def test_a_flipped_correlation_is_found_only_by_the_domain_classifier() -> None:
    reference = _pair(5000, 0.9, 1)
    flipped = _pair(3000, -0.9, 2)
    report = drift(reference, flipped, multivariate=True)
    assert not report.drifted_columns  # every marginal is unchanged
    multi = report.multivariate
    assert multi is not None and multi.test == "domain_classifier"
    assert multi.drifted and multi.effect_size > 0.8
    assert multi.ci_low is not None and multi.ci_low > 0.5
    assert report.drifted
    assert report.to_dict()["multivariate"]["drifted"]


@pytest.mark.parametrize("seed", range(4))
def test_same_distribution_does_not_alarm(seed: int) -> None:
    reference = _pair(4000, 0.5, 10 + seed)
    same = _pair(2000, 0.5, 20 + seed)
    multi = drift(reference, same, multivariate=True).multivariate
    assert multi is not None and not multi.drifted
    assert multi.effect_size < 0.55


def test_a_profile_has_no_rows_to_classify() -> None:
    profile = data.profile_table(pa.Table.from_pandas(_pair(500, 0.0, 0)))
    with pytest.raises(InvalidInput, match="rows"):
        drift(profile, _pair(500, 0.0, 1), multivariate=True)


def test_the_cli_flag(run_cli: Cli, tmp_path: Path) -> None:
    _pair(3000, 0.9, 1).to_parquet(tmp_path / "a.parquet")
    _pair(2000, -0.9, 2).to_parquet(tmp_path / "b.parquet")
    args = ["monitor", "drift", str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]
    assert run_cli(*args).returncode == 0  # no marginal moved
    done = run_cli(*args, "--multivariate", "--json")
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["multivariate"]["test"] == "domain_classifier"
