"""drift(): statistics against scipy, false alarms on same-distribution windows, detection,
the FDR correction and monitor-spec errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from loopml.errors import InvalidMonitorSpec
from loopml.monitoring import DriftReport, drift, load_spec, parse_spec
from loopml.monitoring._calibrate import benjamini_hochberg


def _frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1, n),
            "y": rng.lognormal(0, 1, n),
            "k": rng.integers(0, 5, n),
            "c": rng.choice(list("abcde"), n, p=[0.4, 0.3, 0.15, 0.1, 0.05]),
        }
    )


def test_statistics_match_scipy() -> None:
    rng = np.random.default_rng(0)
    ref, cur = rng.normal(0, 1, 50_000), rng.normal(0.1, 1.1, 20_000)
    report = drift(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}))
    x = report.feature("x")
    assert x.test("ks").statistic == pytest.approx(stats.ks_2samp(ref, cur).statistic, abs=3e-3)
    w = stats.wasserstein_distance(ref, cur)
    assert x.test("wasserstein").statistic == pytest.approx(w, rel=0.05)
    cats = ["a", "b", "c"]
    rc = rng.choice(cats, 50_000, p=[0.5, 0.3, 0.2])
    cc = rng.choice(cats, 20_000, p=[0.45, 0.3, 0.25])
    found = drift(pd.DataFrame({"c": rc}), pd.DataFrame({"c": cc})).feature("c")
    table = np.array([[np.sum(rc == v) for v in cats], [np.sum(cc == v) for v in cats]])
    chi = stats.chi2_contingency(table, correction=False)
    assert found.test("chi_square").statistic == pytest.approx(chi.statistic, rel=1e-9)
    js = jensenshannon(table[0] / table[0].sum(), table[1] / table[1].sum())
    assert found.test("jensen_shannon").statistic == pytest.approx(js, rel=1e-9)
    assert found.drifted


@pytest.mark.parametrize("size", [500, 5_000, 50_000, 1_000_000])
def test_same_distribution_windows_rarely_alarm(size: int) -> None:
    rng = np.random.default_rng(size)
    ref = _frame(rng, 200_000)
    seeds = 12 if size < 1_000_000 else 2
    alarms = sum(drift(ref, _frame(rng, size)).drifted for _ in range(seeds))
    assert alarms <= max(1, int(0.05 * seeds))


def test_detects_a_modest_shift() -> None:
    rng = np.random.default_rng(3)
    report = drift(_frame(rng, 50_000), _frame(rng, 5_000, shift=0.2))
    assert report.drifted_columns == ["x"]
    again = DriftReport.from_dict(json.loads(report.to_json()))
    assert again.to_dict() == report.to_dict()


def test_benjamini_hochberg() -> None:
    q = benjamini_hochberg([0.01, 0.04, 0.03, 0.5])
    assert q == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])


def test_spec_errors_name_file_and_line(tmp_path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text("fdr: 0.05\nfeatures:\n  x: {tests: [ks, kss]}\n")
    with pytest.raises(InvalidMonitorSpec, match=r"monitor.yaml:3: .*'kss'.*did you mean 'ks'"):
        load_spec(path)
    with pytest.raises(InvalidMonitorSpec, match="spec.fdr"):
        load_spec({"fdr": 2})
    spec = parse_spec("features:\n  x: {tests: [ks], min_effect: {ks: 0.5}}\n")
    rng = np.random.default_rng(4)
    report = drift(_frame(rng, 20_000), _frame(rng, 5_000, shift=0.2), spec=spec)
    assert [t.test for t in report.feature("x").tests] == ["ks"]
    assert not report.drifted
