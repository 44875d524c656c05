"""Inferred schemas that the next batch from the same source passes, rules marked by origin,
and schema files refused with file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from loopml.data import DataRepo, Schema, get_schema, profile_table
from loopml.data._infer import infer_schema, is_identifier, monotonic, widen
from loopml.data._inspect import validate
from loopml.data._validate import validate_table
from loopml.datasets import generate_transactions
from loopml.errors import InvalidInput
from tests.fixtures.cli import Cli

ROWS_PER_DAY = 1000


def _table(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


def _week(seed: int = 0) -> pd.DataFrame:
    return generate_transactions(start="2026-10-01", days=7, rows_per_day=ROWS_PER_DAY, seed=seed)


def _next_days(days: int, seed: int) -> pd.DataFrame:
    return generate_transactions(
        start="2026-10-08", days=days, rows_per_day=ROWS_PER_DAY, seed=seed
    )


def _inferred(frame: pd.DataFrame) -> Schema:
    table = _table(frame)
    return infer_schema(table, profile_table(table))


def _broken(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    bad = frame.copy()
    if what == "negative amount":
        bad.loc[bad.index[3], "amount"] = -12.5
    elif what == "null in a non-null column":
        bad["device"] = bad["device"].astype(object)
        bad.loc[bad.index[4], "device"] = None
    elif what == "new category":
        bad.loc[bad.index[5], "merchant_category"] = "crypto"
    elif what == "far outside the widened range":
        bad.loc[bad.index[6], "customer_age"] = 5_000
    return bad


def test_next_days_from_the_generator_validate_clean_in_the_cli(cli: Cli, tmp_path: Path) -> None:
    _week().to_parquet(tmp_path / "week.parquet", index=False)
    _next_days(1, seed=0).to_parquet(tmp_path / "day8.parquet", index=False)
    _next_days(7, seed=1).to_parquet(tmp_path / "days8-14.parquet", index=False)
    assert cli("data", "commit", "tx", "week.parquet").returncode == 0
    inferred = cli("data", "schema", "infer", "tx@main")
    assert inferred.returncode == 0, inferred.stderr
    (tmp_path / "schema.yaml").write_text(inferred.stdout)
    for new in ("day8.parquet", "days8-14.parquet"):
        out = cli("data", "validate", new, "--schema", "schema.yaml", "--json")
        assert out.returncode == 0, out.stdout
        report = json.loads(out.stdout)
        assert report["ok"] and report["errors_by_origin"] == {
            "inferred": 0,
            "user": 0,
            "builtin": 0,
        }
        assert [a for a in report["anomalies"] if a["severity"] == "error"] == []
    # The same week a dataset reference validates against (a schema inferred on the fly).
    assert cli("data", "commit", "tx", "days8-14.parquet").returncode == 0
    assert cli("data", "validate", "tx@main", "--schema", "tx@v1").returncode == 0


def test_a_broken_next_day_fails_with_exit_1_and_inferred_rules_marked(
    cli: Cli, tmp_path: Path
) -> None:
    _week().to_parquet(tmp_path / "week.parquet", index=False)
    bad = _next_days(1, seed=0)
    for what in (
        "negative amount",
        "null in a non-null column",
        "new category",
        "far outside the widened range",
    ):
        bad = _broken(bad, what)
    bad.to_parquet(tmp_path / "bad.parquet", index=False)
    assert cli("data", "commit", "tx", "week.parquet").returncode == 0
    schema = Schema.from_yaml(cli("data", "schema", "infer", "tx@main").stdout)
    # A rule the user writes by hand is theirs: a cap on amount below the inferred bound.
    schema.columns["amount"].max = 500
    schema.columns["amount"].inferred.remove("max")
    (tmp_path / "schema.yaml").write_text(schema.to_yaml())
    out = cli("data", "validate", "bad.parquet", "--schema", "schema.yaml", "--json")
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    errors = {(a["kind"], a["column"]): a for a in report["anomalies"] if a["severity"] == "error"}
    assert errors[("unexpected_nulls", "device")]["origin"] == "inferred"
    assert errors[("unknown_category", "merchant_category")]["examples"] == [
        {"row": 5, "value": "crypto"}
    ]
    assert errors[("unknown_category", "merchant_category")]["origin"] == "inferred"
    assert errors[("out_of_range", "customer_age")]["origin"] == "inferred"
    amount = errors[("out_of_range", "amount")]
    assert {"row": 3, "value": -12.5} in amount["examples"]
    # The negative value breaks the inferred min, the big ones the user's max of 500.
    assert amount["origin"] == "user" and amount["count"] > 1
    assert report["errors_by_origin"]["inferred"] == 3
    assert report["errors_by_origin"]["user"] == 1
    table = cli("data", "validate", "bad.parquet", "--schema", "schema.yaml", "--html", "r.html")
    assert table.returncode == 1
    assert "rule" in table.stdout and "inferred" in table.stdout
    assert "4 error(s), 3 against inferred rules" in table.stdout
    page = (tmp_path / "r.html").read_text()
    assert "<td class='origin'>inferred</td>" in page and "<td class='origin'>user</td>" in page


@pytest.mark.parametrize(
    "what",
    [
        "negative amount",
        "null in a non-null column",
        "new category",
        "far outside the widened range",
    ],
)
def test_each_breakage_alone_fails(what: str) -> None:
    schema = _inferred(_week())
    clean = _next_days(1, seed=0)
    assert validate_table(_table(clean), schema, target="day8", pii=False).ok
    report = validate_table(_table(_broken(clean, what)), schema, target="day8", pii=False)
    assert not report.ok and len(report.errors) == 1
    assert report.errors[0].origin == "inferred"


def test_inferred_rules_generalise_by_column_kind() -> None:
    schema = _inferred(_week())
    cols = schema.columns
    # Identifiers: no range, no closed set; a unique one stays unique.
    for name in ("transaction_id", "customer_id"):
        assert cols[name].min is None and cols[name].max is None, name
    assert cols["transaction_id"].unique and not cols["customer_id"].unique
    assert cols["timestamp"].min is None and cols["timestamp"].max is None
    # Non-negative columns stay non-negative; bounds reach past what was seen.
    week = _week()
    for name in ("amount", "hour", "customer_age", "txn_count_24h", "distance_from_home_km"):
        spec = cols[name]
        assert spec.min is not None and spec.max is not None
        assert 0 <= spec.min <= week[name].min() and spec.max > week[name].max(), name
    assert cols["is_fraud"].min == 0 and cols["is_fraud"].max == 1
    assert cols["country"].allowed == sorted(week["country"].unique())
    assert cols["amount"].inferred == ["type", "nullable", "min", "max"]
    assert cols["country"].inferred == ["type", "nullable", "allowed"]


def test_identifiers_monotonic_columns_and_widening_rules() -> None:
    assert is_identifier("customer_id", "integer", 100, 10)
    assert is_identifier("userId", "float", 100, 10)
    assert is_identifier("ID", "string", 3, 3)
    assert is_identifier("order_no", "integer", 100, 100)  # all distinct
    assert not is_identifier("paid", "integer", 100, 2)
    assert not is_identifier("price", "float", 100, 100)  # measurements are not ids
    assert not is_identifier("qty", "integer", 10, 10)  # too few rows to tell
    assert monotonic(pa.chunked_array([[1, 2, 2, 3, 5, 8, 13, 21]])) == "increasing"
    assert monotonic(pa.chunked_array([[9.0, 7.0, None, 7.0, 5.0, 3.0, 2.0, 1.0, 0.0]])) == (
        "decreasing"
    )
    assert monotonic(pa.chunked_array([[1, 1, 1, 2, 2, 2, 2, 2]])) is None  # 2 values
    assert monotonic(pa.chunked_array([[1, 2, 3]])) is None  # too short
    assert monotonic(pa.chunked_array([[1, 3, 2, 4, 5, 6, 7, 8]])) is None
    low, high = widen(18.0, 90.0)
    assert low is not None and high is not None and 0 < low < 18 and 90 < high < 250
    low, high = widen(-30.0, -2.0)  # non-positive stays non-positive
    assert low is not None and high is not None and low < -30 and -2 < high <= 0
    assert widen(-10.0, 30.0) == (-30.0, 50.0)  # both signs: half the range each side
    assert widen(5.0, 5.0) == (5.0, 5.0)
    assert widen(0.0, 1e300) == (0.0, None)  # beyond floats: no bound


def test_monotonic_and_rare_category_columns_in_inference() -> None:
    n = 60
    table = pa.table(
        {
            "seq": list(range(100, 100 + n)),  # all distinct: an identifier
            "batch": [i // 3 for i in range(n)],  # grows, with repeats
            "countdown": [float(n - i) for i in range(n)],
            "level": ["low", "high"] * (n // 2 - 1) + ["low", "rare"],
            "tier": ["a", "b", "c"] * (n // 3),
        }
    )
    schema = infer_schema(table, profile_table(table))
    cols = schema.columns
    assert cols["seq"].min is None and cols["seq"].max is None and cols["seq"].unique
    assert cols["batch"].min == 0 and cols["batch"].max is None
    assert cols["countdown"].max is not None and cols["countdown"].max >= n
    assert cols["countdown"].min is None
    assert cols["level"].allowed is None and cols["level"].pattern  # "rare" seen once: open
    assert cols["tier"].allowed == ["a", "b", "c"]
    later = pa.table(
        {
            "seq": list(range(100 + n, 100 + 2 * n)),
            "batch": [20 + i // 3 for i in range(n)],
            "countdown": [float(-i) for i in range(n)],
            "level": ["medium"] * n,
            "tier": ["a", "d"] * (n // 2),
        }
    )
    report = validate_table(later, schema, target="later", pii=False)
    assert {(a.kind, a.column) for a in report.errors} == {("unknown_category", "tier")}


def test_inferred_yaml_round_trips_and_old_schemas_still_load(
    repo: DataRepo, tmp_path: Path
) -> None:
    schema = _inferred(_week())
    text = schema.to_yaml()
    assert text.startswith("# Rules named in a column's `inferred` list")
    assert "    inferred: [type, nullable, min, max]\n" in text
    assert Schema.from_yaml(text) == schema
    # A schema written before `inferred` existed: every rule is the user's.
    old = (
        "format: loopml.schema/1\ncolumns:\n  amount:\n    type: float\n    nullable: false\n"
        "    min: 1.86\n    max: 3585.01\n  country:\n    type: string\n    allowed: [GB]\n"
    )
    frame = _next_days(1, seed=0)
    frame.to_parquet(tmp_path / "day.parquet", index=False)
    repo.commit("tx", tmp_path / "day.parquet")
    dataset = repo.store.get_dataset("tx")
    repo.store.save_schema(dataset.id, repo.artifacts.put(old.encode()), version_id=None)
    loaded = get_schema("tx", repo=repo)
    assert loaded.columns["amount"].inferred == [] and loaded.columns["amount"].max == 3585.01
    report = validate(repo, "tx@main", "tx")  # the saved (old) schema, not an inferred one
    assert ("unknown_category", "country", "user") in {
        (a.kind, a.column, a.origin) for a in report.errors
    }
    assert {a.origin for a in report.errors} == {"user"}
    assert all(a.origin in ("user", "builtin") for a in report.anomalies)


def test_types_are_checked_on_load_and_arrow_aliases_normalised() -> None:
    schema = Schema.from_yaml(
        "columns:\n  a: {type: int64}\n  b: {type: double}\n  c: {type: binary}\n"
        "  d: {type: 'list<item: int64>'}\n  e: {type: large_string}\n"
    )
    assert [c.type for c in schema.columns.values()] == [
        "integer",
        "float",
        "binary",
        "list<item: int64>",
        "string",
    ]
    with pytest.raises(InvalidInput) as info:
        Schema.from_yaml(
            "columns:\n  a:\n    type: integer\n  b:\n    nullable: false\n    type: flaot\n",
            label="s.yaml",
        )
    assert str(info.value).startswith(
        "s.yaml:6: invalid schema: columns.b.type: unknown type 'flaot' (did you mean 'float'?)"
    )
    assert info.value.hint is not None and "integer, float, string" in info.value.hint
    with pytest.raises(InvalidInput) as info:
        Schema.from_yaml("columns:\n  a:\n    type: integer\n    nulable: false\n", label="k.yaml")
    assert str(info.value).startswith("k.yaml:4: invalid schema: columns.a.nulable: unknown key")
    assert info.value.hint is not None and "Did you mean 'nullable'?" in info.value.hint
    with pytest.raises(InvalidInput, match=r"^k.yaml:3: .*inferred.0"):
        Schema.from_yaml(
            "columns:\n  a:\n    inferred: [range]\n    type: integer\n", label="k.yaml"
        )


def test_flaot_schema_file_is_refused_by_the_cli_with_file_line(cli: Cli, tmp_path: Path) -> None:
    generate_transactions(days=1, rows_per_day=50).to_parquet(tmp_path / "t.parquet")
    (tmp_path / "bad.yaml").write_text(
        "format: loopml.schema/1\ncolumns:\n  amount:\n    type: flaot\n    nullable: false\n"
    )
    for args in (
        ("data", "validate", "t.parquet", "--schema", "bad.yaml"),
        ("data", "schema", "save", "tx", "bad.yaml"),
    ):
        out = cli(*args)
        assert out.returncode == 2, (args, out.stderr)
        assert "bad.yaml:4: invalid schema: columns.amount.type: unknown type 'flaot'" in (
            out.stderr
        )
        assert "Accepted types: integer, float, string, boolean, timestamp, date" in out.stderr
        assert "Traceback" not in out.stderr
