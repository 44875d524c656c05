"""Diffs with known changes, profiles, schema inference and each validation anomaly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopml.data import (
    PROFILE_FORMAT,
    DataRepo,
    Entry,
    Manifest,
    Schema,
    column_psi,
    profile_table,
    register_check,
)
from loopml.data._inspect import diff, infer, validate
from loopml.data._manifest import diff_manifests
from loopml.datasets import generate_transactions
from loopml.errors import InvalidInput


@given(
    st.dictionaries(st.text(min_size=1, max_size=5), st.integers(0, 3), max_size=8),
    st.dictionaries(st.text(min_size=1, max_size=5), st.integers(0, 3), max_size=8),
)
def test_manifest_diff_partitions_paths(old: dict[str, int], new: dict[str, int]) -> None:
    a = Manifest({p: Entry(str(d) * 64, 1) for p, d in old.items()})
    b = Manifest({p: Entry(str(d) * 64, 1) for p, d in new.items()})
    result = diff_manifests(a, b)
    assert set(result.added) == set(new) - set(old)
    assert set(result.removed) == set(old) - set(new)
    assert set(result.changed) == {p for p in set(old) & set(new) if old[p] != new[p]}
    assert result.unchanged + len(result.changed) == len(set(old) & set(new))
    assert Manifest.from_bytes(a.to_bytes()) == a


@pytest.fixture
def frame() -> pd.DataFrame:
    return generate_transactions(days=2, rows_per_day=1500, seed=3)


def test_row_schema_and_stats_diff_with_known_changes(
    repo: DataRepo, tmp_path: Path, frame: pd.DataFrame
) -> None:
    frame.to_parquet(tmp_path / "tx.parquet")
    repo.commit("tx", tmp_path / "tx.parquet")
    changed = frame.copy()
    changed.loc[changed.index[10:40], "amount"] += 1.0  # 30 changed
    changed = changed.drop(changed.index[:10])  # 10 removed
    extra = frame.iloc[:7].copy()
    extra["transaction_id"] += 10**13  # 7 added
    changed = pd.concat([changed, extra]).drop(columns=["device"])
    changed["hour"] = changed["hour"].astype("float64")
    changed["note"] = "x"
    changed.to_parquet(tmp_path / "tx.parquet", index=False)
    repo.commit("tx", tmp_path / "tx.parquet")
    result = diff(repo, "tx@v1", "tx@v2", key=["transaction_id"])
    table = result["tables"]["tx.parquet"]
    assert table["rows"]["added"] == 7
    assert table["rows"]["removed"] == 10
    assert table["rows"]["changed"] == 30
    assert table["rows"]["unchanged"] == len(frame) - 40
    assert table["schema"]["added"] == ["note"] and table["schema"]["removed"] == ["device"]
    assert table["schema"]["retyped"] == [{"column": "hour", "from": "int64", "to": "double"}]
    assert table["stats"]["rows"] == {"from": len(frame), "to": len(frame) - 3}
    assert "amount" in table["stats"]["columns"]
    with pytest.raises(InvalidInput):
        diff(repo, "tx@v1", "tx@v2", key=["customer_id"])  # not unique


def test_profile_structure(frame: pd.DataFrame) -> None:
    frame.loc[frame.index[:5], "amount"] = np.nan
    table = pa.Table.from_pandas(frame, preserve_index=False)
    profile = profile_table(table)
    assert profile["format"] == PROFILE_FORMAT and profile["rows"] == len(frame)
    amount = profile["columns"]["amount"]
    assert amount["kind"] == "numeric" and amount["nulls"] + amount["nan"] == 5
    assert len(amount["quantiles"]["values"]) == 101
    assert sum(amount["histogram"]["counts"]) == len(frame) - 5
    assert amount["min"] == pytest.approx(frame["amount"].min())
    assert amount["mean"] == pytest.approx(frame["amount"].mean())
    country = profile["columns"]["country"]
    assert country["distinct"] == frame["country"].nunique()
    assert country["top"][0]["count"] == frame["country"].value_counts().iloc[0]
    assert profile["columns"]["timestamp"]["kind"] == "timestamp"
    json.dumps(profile)  # JSON-ready


def test_psi_is_small_on_same_data_and_large_on_shift(frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    profile = profile_table(table)
    same = column_psi(profile["columns"]["amount"], table.column("amount"))
    shifted = column_psi(profile["columns"]["amount"], pc.multiply(table.column("amount"), 3.0))
    assert same is not None and same < 0.01
    assert shifted is not None and shifted > 0.5
    cat = column_psi(profile["columns"]["country"], pa.chunked_array([["US"] * 1000]))
    assert cat is not None and cat > 0.5


def _bad_frame(frame: pd.DataFrame) -> pd.DataFrame:
    bad = frame.copy()
    bad["country"] = bad["country"].astype(object)
    bad.loc[bad.index[0], "country"] = "ZZ"  # unknown category
    bad.loc[bad.index[1], "amount"] = -5.0  # out of range
    bad.loc[bad.index[2], "device"] = None  # unexpected null
    bad.loc[bad.index[3], "transaction_id"] = bad.loc[bad.index[4], "transaction_id"]  # dup key
    bad["code"] = "AB-1"
    bad.loc[bad.index[5], "code"] = "nope"  # pattern
    bad["hour"] = bad["hour"].astype(str)  # type mismatch
    return bad.drop(columns=["merchant_category"]).assign(extra=1)  # missing + extra


def test_every_anomaly_kind_is_reported(
    repo: DataRepo, tmp_path: Path, frame: pd.DataFrame
) -> None:
    frame["code"] = "AB-1"
    frame.to_parquet(tmp_path / "tx.parquet")
    repo.commit("tx", tmp_path / "tx.parquet")
    schema = infer(repo, "tx@main")
    assert schema.columns["code"].pattern is not None or schema.columns["code"].allowed
    schema.columns["code"].allowed = None
    schema.columns["code"].pattern = r"^[A-Z]+-\d+$"
    assert schema.columns["transaction_id"].unique
    _bad_frame(frame).to_parquet(tmp_path / "bad.parquet")
    report = validate(repo, str(tmp_path / "bad.parquet"), schema)
    kinds = {a.kind: a for a in report.anomalies}
    for kind in (
        "missing_column",
        "extra_column",
        "type_mismatch",
        "unexpected_nulls",
        "out_of_range",
        "unknown_category",
        "duplicate_key",
        "pattern_violation",
    ):
        assert kind in kinds, kind
    assert not report.ok
    assert kinds["unknown_category"].examples[0] == {"row": 0, "value": "ZZ"}
    assert kinds["out_of_range"].count == 1 and kinds["duplicate_key"].count == 2
    assert kinds["extra_column"].severity == "warning"
    assert validate(repo, "tx@main", schema).ok


def test_distribution_shift_against_reference(
    repo: DataRepo, tmp_path: Path, frame: pd.DataFrame
) -> None:
    frame.to_parquet(tmp_path / "tx.parquet")
    repo.commit("tx", tmp_path / "tx.parquet")
    schema = infer(repo, "tx@main")
    schema.columns["amount"].max = None
    shifted = frame.assign(amount=frame["amount"] * 4)
    shifted.to_parquet(tmp_path / "new.parquet")
    report = validate(repo, str(tmp_path / "new.parquet"), schema, reference="tx@main")
    shift = [a for a in report.anomalies if a.kind == "distribution_shift"]
    assert [a.column for a in shift] == ["amount"] and report.ok


def test_custom_checks_and_schema_yaml(repo: DataRepo, tmp_path: Path, frame: pd.DataFrame) -> None:
    @register_check("amount_below")
    def amount_below(table: pa.Table, column: str | None = None, limit: float = 0) -> pa.Array:
        return pc.greater(table.column(column), limit)

    frame.to_parquet(tmp_path / "tx.parquet")
    repo.commit("tx", tmp_path / "tx.parquet")
    schema = infer(repo, "tx@main")
    text = schema.to_yaml() + (
        "checks:\n- name: amount_below\n  column: amount\n  params: {limit: 100}\n"
    )
    loaded = Schema.from_yaml(text)
    assert loaded.columns == schema.columns
    report = validate(repo, "tx@main", loaded)
    custom = [a for a in report.anomalies if a.kind == "check:amount_below"]
    assert custom and custom[0].count == int((frame["amount"] > 100).sum())
    loaded.checks[0].name = "unknown"
    with pytest.raises(InvalidInput):
        validate(repo, "tx@main", loaded)
    with pytest.raises(InvalidInput) as info:
        Schema.from_yaml("columns: [unclosed", label="s.yaml")
    assert str(info.value).startswith("s.yaml:1: not valid YAML")
    with pytest.raises(InvalidInput):
        Schema.from_yaml("columns: {a: {type: integer, bogus: 1}}")


def test_saved_schemas_are_versioned_objects(
    repo: DataRepo, tmp_path: Path, frame: pd.DataFrame
) -> None:
    from loopml.data import get_schema, list_schemas, save_schema
    from loopml.errors import InvalidReference, NotFound

    frame.to_parquet(tmp_path / "tx.parquet")
    v1 = repo.commit("tx", tmp_path / "tx.parquet")
    assert list_schemas("tx", repo=repo) == []
    with pytest.raises(NotFound, match="schema"):
        get_schema("tx", repo=repo)
    first = infer(repo, "tx@main")
    save_schema("tx@main", first, repo=repo)
    edited = first.model_copy(deep=True)
    edited.columns["amount"].min = 0
    edited.allow_extra_columns = False
    save_schema("tx", edited, repo=repo)
    saved = list_schemas("tx", repo=repo)
    assert [(s.seq, s.version_id) for s in saved] == [(1, v1.id), (2, None)]
    assert get_schema("tx@1", repo=repo) == first
    assert get_schema("tx@2", repo=repo) == edited == get_schema("tx", repo=repo)
    for bad in ("tx@0", "tx@v1", "tx@main", "tx@"):
        with pytest.raises(InvalidReference):
            get_schema(bad, repo=repo)
    with pytest.raises(NotFound, match="tx@3"):
        get_schema("tx@3", repo=repo)
    with pytest.raises(NotFound):
        list_schemas("nope", repo=repo)
    with pytest.raises(InvalidInput):
        list_schemas("bad name", repo=repo)
