"""Materialisation and online lookups: offline == online, incremental runs, Redis."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import pytest

import loopml
from loopml import features as fs
from tests.features.conftest import BASE, setup_data
from tests.fixtures.services import REDIS_URL, require_service


def _offline_online(ws: loopml.Workspace, tmp_path: Path, data: dict, store: str | None) -> None:
    at = BASE + pd.Timedelta(seconds=9_000)
    fs.materialize(end=at, online_store=store)
    users = list(range(7))
    rows = pd.DataFrame(
        {"user_id": users, "merchant": [f"m{i % 4}" for i in users], "event_timestamp": at}
    )
    offline = fs.get_historical_features(rows, "model").to_pandas()
    online = fs.get_online_features(
        rows[["user_id", "merchant"]].to_dict("records"), "model", at=at, online_store=store
    ).to_dict()
    for name in ("spend", "visits", "spend2", "risk"):
        want = [None if v != v else v for v in offline[name].tolist()]
        assert online[name] == pytest.approx(want), name
    assert any(v is not None for v in online["spend"])


def test_offline_equals_online_after_materialisation(ws: loopml.Workspace, tmp_path: Path) -> None:
    _offline_online(ws, tmp_path, setup_data(tmp_path, 3), None)
    marks = fs.client_for(ws).freshness()
    assert set(marks) == {"user_stats", "merchant_risk"}


def test_incremental_materialisation_reads_only_new_rows(
    ws: loopml.Workspace, tmp_path: Path
) -> None:
    setup_data(tmp_path, 4)
    first = {r.view: r for r in fs.materialize(end=BASE + pd.Timedelta(days=2))}
    assert first["user_stats"].full and first["user_stats"].rows == 6  # one per user
    again = {r.view: r for r in fs.materialize(end=BASE + pd.Timedelta(days=3))}
    assert again["user_stats"].rows == 0 and not again["user_stats"].full
    new = pd.DataFrame(
        {
            "user_id": [0, 0, 5],
            "ts": [BASE + pd.Timedelta(days=3, hours=2)] * 2 + [BASE],  # user 5: old event
            "created": [BASE + pd.Timedelta(days=3, hours=2)] * 3,  # all written late
            "spend": [10.0, 11.0, 99.0],
            "visits": [1, 2, 3],
        }
    )
    new.iloc[1, 1] = BASE + pd.Timedelta(days=3, hours=1)  # the older of user 0's two
    new.to_parquet(tmp_path / "users_new.parquet")
    # Same view version, new file: the glob picks it up; only the new rows are read.
    third = {r.view: r for r in fs.materialize(end=BASE + pd.Timedelta(days=4))}
    assert third["user_stats"].rows == 2  # users 0 and 5, newest per key
    got = fs.get_online_features(
        [{"user_id": 0, "merchant": "m0"}, {"user_id": 5, "merchant": "m0"}],
        ["user_stats:spend"],
        at=BASE + pd.Timedelta(days=3, hours=2, seconds=100),  # within every TTL
    ).to_dict()
    assert got["spend"][0] == 10.0
    # user 5's late row has an old event time: it never replaces a newer stored value,
    # and with the TTL judged at the lookup time it is stale anyway.
    assert got["spend"][1] is None


def test_lookup_of_unknown_entity_and_missing_key(ws: loopml.Workspace, tmp_path: Path) -> None:
    setup_data(tmp_path, 5)
    fs.materialize(end=BASE + pd.Timedelta(days=1))
    got = fs.get_online_features([{"user_id": 999}], ["user_stats:spend"]).to_dict()
    assert got == {"spend": [None]}
    with pytest.raises(loopml.errors.InvalidInput, match="user_id"):
        fs.get_online_features([{"merchant": "m1"}], ["user_stats:spend"])


def test_redis_online_store_for_real(ws: loopml.Workspace, tmp_path: Path) -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        require_service("Redis", str(exc))
    prefix = f"t{uuid.uuid4().hex[:12]}"
    url = f"{REDIS_URL}?prefix={prefix}"
    try:
        _offline_online(ws, tmp_path, setup_data(tmp_path, 2), url)
        again = fs.materialize(end=BASE + pd.Timedelta(seconds=9_000), online_store=url)
        assert {r.rows for r in again} == {0}
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)


def test_a_timestamp_feature_is_a_datetime_online_as_offline(
    ws: loopml.Workspace, tmp_path: Path
) -> None:
    signups = [BASE - pd.Timedelta(days=3), BASE - pd.Timedelta(days=1, minutes=5)]
    pd.DataFrame(
        {"user_id": [1, 2], "ts": [BASE, BASE + pd.Timedelta(hours=1)], "signup": signups}
    ).to_parquet(tmp_path / "signups.parquet")
    fs.apply(
        fs.Definitions(
            entities=(fs.Entity("user", {"user_id": "int64"}),),
            views=(
                fs.FeatureView(
                    "signups",
                    entities=("user",),
                    source=str(tmp_path / "signups.parquet"),
                    event_timestamp="ts",
                    features=(fs.Field("signup", "timestamp"),),
                ),
            ),
        )  # fmt: skip
    )
    at = BASE + pd.Timedelta(hours=2)
    fs.materialize(end=at)
    rows = pd.DataFrame({"user_id": [1, 2, 3], "event_timestamp": at})
    offline = fs.get_historical_features(rows, ["signups:signup"]).to_pandas()["signup"]
    online = fs.get_online_features(
        rows[["user_id"]].to_dict("records"), ["signups:signup"], at=at
    ).to_dict()["signup"]
    assert online[:2] == offline.tolist()[:2] == signups  # no ISO text: no skew by type
    assert online[2] is None and pd.isna(offline.iloc[2])
