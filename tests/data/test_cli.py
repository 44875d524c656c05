"""The ``loopml data`` commands end to end: output, exit codes, bad input, lineage in log."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from loopml.config import load_settings
from loopml.datasets import generate_transactions
from tests.fixtures.cli import Cli


@pytest.fixture
def tx(tmp_path: Path) -> Path:
    generate_transactions(days=2, rows_per_day=400).to_parquet(tmp_path / "tx.parquet")
    return tmp_path / "tx.parquet"


def test_commit_schema_validate_log_diff(cli: Cli, tmp_path: Path, tx: Path) -> None:
    out = cli("data", "commit", "tx", str(tx), "-m", "first", "--json")
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout)
    assert first["changed"] and first["seq"] == 1
    again = json.loads(cli("data", "commit", "tx", str(tx), "--json").stdout)
    assert not again["changed"] and again["id"] == first["id"]
    schema = cli("data", "schema", "infer", "tx@main")
    assert schema.returncode == 0 and "loopml.schema/1" in schema.stdout
    (tmp_path / "schema.yaml").write_text(schema.stdout)
    ok = cli("data", "validate", "tx@main", "--schema", "schema.yaml", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"]
    frame = generate_transactions(days=2, rows_per_day=400)
    frame.loc[frame.index[0], "amount"] = -1
    frame.to_csv(tmp_path / "bad.csv", index=False)
    bad = cli("data", "validate", "bad.csv", "--schema", "schema.yaml")
    assert bad.returncode == 1 and "out_of_range" in bad.stdout
    cli("data", "commit", "tx", "bad.csv", "-m", "second")
    log = json.loads(cli("data", "log", "tx", "--json").stdout)
    assert [e["seq"] for e in log] == [2, 1] and log[0]["refs"] == ["main"]
    diff = cli("data", "diff", "tx@v1", "tx@v2", "--json")
    assert json.loads(diff.stdout)["files"]["added"] == ["bad.csv"]
    html = cli("data", "profile", "tx@v1", "--html", "p.html")
    assert html.returncode == 0 and "<svg" in (tmp_path / "p.html").read_text()
    assert cli("data", "tag", "tx@v1", "gold").returncode == 0
    assert cli("data", "branch", "create", "tx", "exp", "--from", "tx@gold").returncode == 0
    out = cli("data", "checkout", "tx@exp", "co", "--json")
    assert json.loads(out.stdout)["files"] == 1 and (tmp_path / "co" / "tx.parquet").exists()


def test_log_shows_runs_that_used_a_version(cli: Cli, tmp_path: Path, tx: Path) -> None:
    from loopml.data import record_use
    from loopml.store.sql import SqlStore

    assert cli("data", "commit", "tx", str(tx)).returncode == 0
    store = SqlStore(f"sqlite:///{tmp_path / '.loopml' / 'loopml.db'}")
    try:
        run = store.create_run(name="train")
        from loopml.data import DataRepo
        from loopml.workspace import Workspace

        workspace = Workspace(load_settings(cwd=tmp_path, env={}), store=store)
        record_use("tx@main", f"run:{run.id}", repo=DataRepo.for_workspace(workspace))
    finally:
        store.close()
    out = cli("data", "log", "tx")
    assert f"run:{run.id}" in out.stdout


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("ragged.csv", b"a,b\n1,2\n3,4,5\n", "ragged.csv, line 3"),
        ("latin.csv", b"a,b\n1,caf\xe9\n", "latin.csv, line 2"),
        ("empty.csv", b"", "the file is empty"),
        ("trunc.parquet", b"PAR1" + b"\0" * 50, "not a readable Parquet file"),
        ("broken.jsonl", b'{"a": 1}\n{"a": \n', "broken.jsonl"),
    ],
)
def test_bad_files_exit_2_and_commit_nothing(
    cli: Cli, tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    (tmp_path / name).write_bytes(content)
    out = cli("data", "commit", "ds", name)
    assert out.returncode == 2 and expected in out.stderr and "Traceback" not in out.stderr
    assert cli("data", "log", "ds").returncode == 2  # the dataset was never created


def test_bad_paths_and_names_exit_2(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "f.txt").write_text("x")
    for args, expected in (
        (("ds", "missing.csv"), "missing.csv: no such file"),
        (("ds", "empty"), "holds no file"),
        (("bad/name", "f.txt"), "invalid dataset name"),
        (("ds", "f.txt", "--branch", "no good"), "invalid branch name"),
        (("ds", "f.txt", "--pii-policy", "maybe"), "unknown PII policy"),
    ):
        out = cli("data", "commit", *args)
        assert out.returncode == 2 and expected in out.stderr, (args, out.stderr)
    assert cli("data", "log", "nope").returncode == 2
    assert cli("data", "checkout", "ds@main", "x").returncode == 2


def test_redaction_shows_in_log_and_lineage(cli: Cli, tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "people.csv"
    pd.DataFrame({"email": [f"u{i}@example.org" for i in range(50)], "amount": range(50)}).to_csv(
        path, index=False
    )
    original = hashlib.sha256(path.read_bytes()).hexdigest()
    out = cli("data", "commit", "people", "people.csv", "--pii-policy", "redact", "--json")
    assert out.returncode == 0, out.stderr
    version = json.loads(out.stdout)["id"]
    log = cli("data", "log", "people")
    assert f"redacted <- artifact:{original}" in log.stdout
    assert "people.csv: email (stored hashed)" in log.stdout
    entry = json.loads(cli("data", "log", "people", "--json").stdout)[0]
    assert entry["made_from"] == [{"ref": f"artifact:{original}", "relation": "redacted"}]
    shown = cli("lineage", "show", f"dataset_version:{version}", "--direction", "up", "--json")
    assert json.loads(shown.stdout)["up"] == [
        {
            "depth": 1,
            "src": f"artifact:{original}",
            "dst": f"dataset_version:{version}",
            "relation": "redacted",
        }
    ]
    tree = cli("lineage", "show", f"dataset_version:{version}")
    assert f"redacted artifact:{original}" in tree.stdout


def test_schema_save_list_show(cli: Cli, tmp_path: Path, tx: Path) -> None:
    assert cli("data", "commit", "tx", str(tx)).returncode == 0
    empty = cli("data", "schema", "list", "tx", "--json")
    assert empty.returncode == 0 and json.loads(empty.stdout) == []
    missing = cli("data", "schema", "show", "tx")
    assert missing.returncode == 2 and "schema" in missing.stderr and "--save" in missing.stderr
    inferred = cli("data", "schema", "infer", "tx@main", "--save")
    assert inferred.returncode == 0 and "schema tx@1" in inferred.stderr
    edited = inferred.stdout.replace("allow_extra_columns: true\n", "") + (
        "allow_extra_columns: false\n"
    )
    (tmp_path / "schema.yaml").write_text(edited)
    saved = cli("data", "schema", "save", "tx", "schema.yaml", "--json")
    assert saved.returncode == 0, saved.stderr
    assert json.loads(saved.stdout)["ref"] == "tx@2"
    listed = json.loads(cli("data", "schema", "list", "tx", "--json").stdout)
    assert [(r["seq"], r["version_seq"]) for r in listed] == [(1, 1), (2, None)]
    table = cli("data", "schema", "list", "tx")
    assert "tx@1" in table.stdout and "tx@2" in table.stdout
    assert cli("data", "schema", "show", "tx@1").stdout == inferred.stdout
    newest = cli("data", "schema", "show", "tx", "--yaml")
    assert "allow_extra_columns: false" in newest.stdout
    shown = json.loads(cli("data", "schema", "show", "tx@2", "--json").stdout)
    assert shown["seq"] == 2 and shown["schema"]["allow_extra_columns"] is False
    assert shown["schema"]["format"] == "loopml.schema/1"
    (tmp_path / "broken.yaml").write_text("columns: {a: {type: integer, bogus: 1}}\n")
    for args, expected in (
        (("show", "tx@9"), "tx@9"),
        (("show", "tx@latest"), "invalid schema reference"),
        (("show", "tx", "--json", "--yaml"), "exclude each other"),
        (("list", "nope"), "nope"),
        (("save", "tx", "broken.yaml"), "broken.yaml: invalid schema"),
        (("save", "tx", "absent.yaml"), "absent.yaml: cannot read"),
    ):
        out = cli("data", "schema", *args)
        assert out.returncode == 2 and expected in out.stderr, (args, out.stderr)
    assert len(json.loads(cli("data", "schema", "list", "tx", "--json").stdout)) == 2


def test_bad_targets_of_inspect_commands_exit_2(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("columns: {a: {type: integer}}\n")
    (tmp_path / "f.txt").write_text("x")
    assert cli("data", "commit", "ds", "f.txt").returncode == 0
    for args, expected in (
        (("validate", "missing.csv", "--schema", "s.yaml"), "missing.csv: no such file"),
        (("profile", "sub/missing.parquet"), "sub/missing.parquet: no such file"),
        (("schema", "infer", "missing.csv"), "missing.csv: no such file"),
        (("validate", "ds@main", "--schema", "nope.yaml"), "nope.yaml: cannot read"),
        (("profile", "ds"), "ds holds no table file"),
        (("checkout", "ds@main", "f.txt"), "f.txt: exists and is not a folder"),
        (("diff", "ds@v1", "ds@v9"), "ds@v9"),
        (("tag", "ds@main", "bad tag"), "invalid tag name"),
        (("branch", "create", "ds", "no good"), "invalid branch name"),
    ):
        out = cli("data", *args)
        assert out.returncode == 2 and expected in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
