"""Point-in-time correctness against a brute-force reference on generated data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import loopml
from loopml import features as fs
from loopml import lineage
from tests.features.conftest import reference, setup_data


def _same(got: pd.Series, want: pd.Series) -> None:
    for i, (a, b) in enumerate(zip(got.tolist(), want.tolist(), strict=True)):
        if b is None or b != b:
            assert a is None or a != a, (i, a, b)
        else:
            assert a == pytest.approx(b), (i, a, b)


@pytest.mark.parametrize("seed", range(6))
def test_point_in_time_join_matches_brute_force(
    ws: loopml.Workspace, tmp_path: Path, seed: int
) -> None:
    data = setup_data(tmp_path, seed)
    got = fs.get_historical_features(data["entity"], "model").to_pandas()
    want = reference(data)
    assert list(got.columns) == [
        "user_id",
        "merchant",
        "event_timestamp",
        "spend",
        "visits",
        "spend2",
        "risk",
    ]
    assert got["user_id"].tolist() == data["entity"]["user_id"].tolist()  # row order kept
    for name in ("spend", "visits", "spend2", "risk"):
        _same(got[name], want[name])
    # The generator must exercise each rule: values found, stale ones nulled, backfills.
    assert got["spend"].notna().any() and got["spend"].isna().any()


def test_no_future_leakage_of_a_backfilled_row(ws: loopml.Workspace, tmp_path: Path) -> None:
    """A row whose event time is early but that was written late is invisible before then."""
    users = pd.DataFrame(
        {
            "user_id": [1, 1],
            "ts": pd.to_datetime(["2026-01-01", "2026-01-02"]),
            "created": pd.to_datetime(["2026-01-01", "2026-01-10"]),  # backfilled on the 10th
            "spend": [1.0, 2.0],
            "visits": [1, 2],
        }
    )
    users.to_parquet(tmp_path / "users.parquet")
    pd.DataFrame({"merchant": ["m"], "at": [pd.Timestamp("2026-01-01")], "risk": [0.5]}).to_parquet(
        tmp_path / "merchants.parquet"
    )
    from tests.features.conftest import definitions

    fs.apply(definitions(tmp_path, 30 * 86400))
    rows = pd.DataFrame(
        {
            "user_id": [1, 1, 1],
            "merchant": ["m", "m", "m"],
            "event_timestamp": pd.to_datetime(["2026-01-03", "2026-01-09", "2026-01-11"]),
        }
    )
    got = fs.get_historical_features(rows, ["user_stats:spend"]).to_pandas()
    assert got["spend"].tolist() == [1.0, 1.0, 2.0]


def test_save_commits_a_dataset_version_with_lineage(ws: loopml.Workspace, tmp_path: Path) -> None:
    data = setup_data(tmp_path, 0)
    path = fs.get_historical_features(data["entity"], "model").to_parquet(tmp_path / "out.parquet")
    assert len(pd.read_parquet(path)) == len(data["entity"])
    version = fs.get_historical_features(data["entity"], "model").save("training")
    up = lineage.upstream(f"dataset_version:{version.id}")
    assert {n.edge.relation for n in up} == {"features"}
    assert {n.edge.src.kind for n in up} == {"feature_view"}
    assert loopml.data.load_table(f"training@{version.id}").shape[0] == len(data["entity"])


def test_missing_key_column_is_refused(ws: loopml.Workspace, tmp_path: Path) -> None:
    data = setup_data(tmp_path, 1)
    with pytest.raises(loopml.errors.InvalidInput, match="merchant"):
        fs.get_historical_features(data["entity"].drop(columns="merchant"), "model")


@pytest.mark.parametrize(("seed", "lookup"), [(0, True), (1, False), (2, True)])
def test_join_over_several_files_row_groups_and_csv_matches_brute_force(
    ws: loopml.Workspace,
    tmp_path: Path,
    seed: int,
    lookup: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Source rows are found by file and row number: split the users over two files with
    small row groups, and read the merchants from CSV (row ids mapped by a lookup table,
    or by sorting them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.features.conftest import generate

    monkeypatch.setattr("loopml.features._gather.lookup_fits", lambda *_: lookup)
    data = generate(seed)
    users = data["users"]
    half = len(users) // 2
    for name, part in (("users_a", users.iloc[:half]), ("users_b", users.iloc[half:])):
        table = pa.Table.from_pandas(part, preserve_index=False)
        pq.write_table(table, tmp_path / f"{name}.parquet", row_group_size=7)
    data["merchants"].to_csv(tmp_path / "merchants.csv", index=False)
    fs.apply(
        fs.Definitions(
            entities=(
                fs.Entity("user", {"user_id": "int64"}),
                fs.Entity("merchant", {"merchant": "string"}),
            ),
            views=(
                fs.FeatureView(
                    "user_stats",
                    entities=("user",),
                    source=str(tmp_path / "users_*.parquet"),
                    event_timestamp="ts",
                    created_timestamp="created",
                    ttl=data["ttl"],
                    features=(fs.Field("spend"), fs.Field("visits", "int64")),
                ),
                fs.FeatureView(
                    "merchant_risk",
                    entities=("merchant",),
                    source=str(tmp_path / "merchants.csv"),
                    event_timestamp="at",
                    features=(fs.Field("risk"),),
                ),
            ),
        )
    )
    want = reference(data)
    job = fs.get_historical_features(data["entity"], ["user_stats", "merchant_risk:risk"])
    got = job.to_pandas()
    assert got["user_id"].tolist() == data["entity"]["user_id"].tolist()
    for name in ("spend", "visits", "risk"):
        _same(got[name], want[name])
    assert got["spend"].notna().any() and got["risk"].notna().any()
    # Streamed to Parquet in slices, the same rows come back in the same order.
    monkeypatch.setattr("loopml.features._historical.CHUNK_ROWS", 64)
    streamed = pd.read_parquet(job.to_parquet(tmp_path / "out.parquet"))
    for name in ("user_id", "spend", "visits", "risk"):
        _same(streamed[name], got[name])


def test_rows_before_any_value_and_no_rows_at_all(ws: loopml.Workspace, tmp_path: Path) -> None:
    data = setup_data(tmp_path, 3)
    early = data["entity"].head(5).assign(event_timestamp=pd.Timestamp("2025-01-01"))
    got = fs.get_historical_features(early, "model").to_pandas()
    assert len(got) == 5
    assert got[["spend", "visits", "spend2", "risk"]].isna().all().all()
    empty = fs.get_historical_features(data["entity"].head(0), "model").to_pandas()
    assert len(empty) == 0 and "risk" in empty.columns
