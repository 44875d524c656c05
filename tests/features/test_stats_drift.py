"""A view's values over a time window, their statistics and drift (through monitoring)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loopml
from loopml import features as fs
from loopml.errors import InvalidInput
from loopml.monitoring import feature_drift
from tests.features.conftest import BASE, setup_data

DAY = pd.Timedelta(days=1)


def _apply_daily(folder: Path, shift_second_day: float, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    n = 4_000
    day = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, 500, n),
            "ts": BASE + pd.to_timedelta(day * 86_400 + rng.integers(0, 86_000, n), unit="s"),
            "spend": rng.normal(size=n) + shift_second_day * day,
            "visits": rng.integers(0, 100, n),
        }
    )
    frame.to_parquet(folder / "daily.parquet")
    fs.apply(
        fs.Definitions(
            entities=(fs.Entity("user", {"user_id": "int64"}),),
            views=(
                fs.FeatureView(
                    "daily",
                    entities=("user",),
                    source=str(folder / "daily.parquet"),
                    event_timestamp="ts",
                    features=(fs.Field("spend"), fs.Field("visits", "int64")),
                ),
            ),
        )
    )


def test_a_window_holds_the_rows_known_in_it(ws: loopml.Workspace, tmp_path: Path) -> None:
    data = setup_data(tmp_path, seed=11)
    start, end = BASE + pd.Timedelta(seconds=2_000), BASE + pd.Timedelta(seconds=6_000)
    table = fs.read_feature_view("user_stats", start=start, end=end)
    users = data["users"]
    known = users[["ts", "created"]].max(axis=1)
    expected = users[(known >= start) & (known < end)]
    assert table.num_rows == len(expected)
    assert sorted(table.column("spend").to_pylist()) == sorted(expected["spend"].tolist())
    assert (table.schema.metadata or {})[b"loopml.features"] == b"spend,visits,spend2"


def test_latest_is_what_the_online_store_serves(ws: loopml.Workspace, tmp_path: Path) -> None:
    data = setup_data(tmp_path, seed=12)
    end = BASE + pd.Timedelta(seconds=9_000)
    fs.materialize(["user_stats"], end=end)
    latest = fs.read_feature_view("user_stats", end=end, latest=True).to_pandas()
    assert latest["user_id"].is_unique
    online = fs.get_online_features(
        [{"user_id": int(u)} for u in latest["user_id"]], ["user_stats:spend"], at=end
    ).to_records()
    ttl = pd.Timedelta(seconds=data["ttl"])
    fresh = (end - latest["event_timestamp"]) <= ttl
    want = [s if ok else None for s, ok in zip(latest["spend"], fresh, strict=True)]
    assert [r["spend"] for r in online] == pytest.approx(want)
    assert any(v is not None for v in want)


def test_a_shifted_day_drifts_and_a_stable_one_does_not(
    ws: loopml.Workspace, tmp_path: Path
) -> None:
    _apply_daily(tmp_path, shift_second_day=0.0)
    stable = feature_drift("daily", start=BASE + DAY, end=BASE + 2 * DAY)
    assert not stable.drifted, stable.drifted_columns
    assert {f.column for f in stable.features} == {"spend", "visits"}

    _apply_daily(tmp_path, shift_second_day=0.5)
    shifted = feature_drift("daily", start=BASE + DAY, end=BASE + 2 * DAY)
    assert shifted.drifted_columns == ["spend"]


def test_an_empty_window_is_refused_with_the_reason(ws: loopml.Workspace, tmp_path: Path) -> None:
    _apply_daily(tmp_path, shift_second_day=0.0)
    with pytest.raises(InvalidInput, match="no rows known before"):
        feature_drift("daily", start=BASE - DAY)
    with pytest.raises(InvalidInput, match="no rows known in the window"):
        feature_drift("daily", start=BASE + 5 * DAY)
    with pytest.raises(InvalidInput, match="start must be before end"):
        fs.read_feature_view("daily", start=BASE + DAY, end=BASE)


def test_the_cli_reports_drift_with_exit_1(ws: loopml.Workspace, tmp_path: Path, run_cli) -> None:
    _apply_daily(tmp_path, shift_second_day=0.5)
    home = str(ws.home)
    start = (BASE + DAY).isoformat()
    done = run_cli("--home", home, "features", "drift", "daily", "--start", start, "--json")
    assert done.returncode == 1, done.stderr
    assert "spend" in json.loads(done.stdout)["drifted_columns"]
    stats = run_cli("--home", home, "features", "stats", "daily", "--start", start, "--json")
    assert stats.returncode == 0, stats.stderr
    body = json.loads(stats.stdout)
    assert body["rows"] > 1_000 and set(body["profile"]["columns"]) == {"spend", "visits"}
