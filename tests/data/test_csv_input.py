"""CSV files past the csv module's limits: huge cells and multi-line values are read; a
malformed file is one error naming the file and the line."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

from loopml.data import DataRepo
from loopml.data import _formats as formats
from loopml.errors import InvalidInput
from tests.fixtures.cli import Cli

HUGE = 3 * 1024 * 1024  # 24x csv's default field limit, 3x Arrow's default block


def _huge_cell_csv(path: Path, *, quoted_newlines: bool = False) -> str:
    cell = ("line of text\n" * (HUGE // 13)) if quoted_newlines else "x" * HUGE
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "note", "score"])
        writer.writerow([1, "short", 0.5])
        writer.writerow([2, cell, 0.25])
        writer.writerow([3, "after", 0.75])
    return cell


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def test_a_cell_over_the_csv_field_limit_is_read_whole(tmp_path: Path) -> None:
    assert HUGE > csv.field_size_limit()
    cell = _huge_cell_csv(tmp_path / "big.csv")
    table = formats.read_table((tmp_path / "big.csv").read_bytes(), "csv", "big.csv")
    assert table.column("id").to_pylist() == [1, 2, 3]
    assert table.column("note").to_pylist()[1] == cell
    assert table.column("score").to_pylist() == [0.5, 0.25, 0.75]


def test_a_huge_quoted_value_with_newlines_is_read_whole(tmp_path: Path) -> None:
    cell = _huge_cell_csv(tmp_path / "text.csv", quoted_newlines=True)
    table = formats.read_table((tmp_path / "text.csv").read_bytes(), "csv", "text.csv")
    assert table.num_rows == 3 and table.column("note").to_pylist()[1] == cell


def test_huge_cells_commit_profile_load_and_validate(repo: DataRepo, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    cell = _huge_cell_csv(folder / "big.csv")
    version = repo.commit("notes", [str(folder / "big.csv")])
    assert version.seq == 1
    frame = repo.load_table("notes@v1")
    assert frame["note"].tolist()[1] == cell
    assert repo.profile("notes@v1")["rows"] == 3
    from loopml.data import infer_schema, validate

    schema = infer_schema("notes@v1", repo=repo)
    assert validate("notes@v1", schema, repo=repo).ok


@pytest.mark.parametrize(
    ("content", "line", "expected", "found"),
    [
        (b"a,b\n1,2\n3,4,5\n", 3, 2, 3),
        (b"a,b\n\n1,2\n\n3\n", 5, 2, 1),  # blank lines count as lines
        (b'a,b\n1,"two\nlines"\n3,4\n5,6,7\n', 5, 2, 3),  # a value spanning two lines
        (b"a,b\n1," + b"y" * HUGE + b"\n2,3,4\n", 3, 2, 3),  # a huge cell before the bad row
    ],
)
def test_a_ragged_row_names_its_line(content: bytes, line: int, expected: int, found: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        formats.read_table(content, "csv", "bad.csv")
    err = caught.value
    assert err.message == (
        f"bad.csv, line {line}: ragged row: expected {expected} fields (as in the header), "
        f"found {found}"
    )
    assert err.fields["line"] == line


def test_a_row_over_arrows_block_limit_is_an_error_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The real limit is 2 GiB; Arrow's default block (1 MiB) exercises the same path.
    monkeypatch.setattr(formats, "MAX_CSV_BLOCK", 1 << 20)
    data = b"a,b\n1," + b"z" * HUGE + b"\n"
    with pytest.raises(InvalidInput, match=r"big\.csv: a row is over 1,048,576 bytes"):
        formats.read_table(data, "csv", "big.csv")


def test_tsv_with_a_huge_cell_is_read() -> None:
    data = b"a\tb\n1\t" + b"t" * HUGE + b"\n"
    table = formats.read_table(data, "tsv", "big.tsv")
    assert isinstance(table, pa.Table) and len(table.column("b").to_pylist()[0]) == HUGE


def test_cli_commit_profile_and_validate_a_huge_cell(cli: Cli, tmp_path: Path) -> None:
    _huge_cell_csv(tmp_path / "big.csv")
    for args in (("data", "commit", "notes", "big.csv"), ("data", "profile", "notes@main")):
        result = cli(*args)
        assert result.returncode == 0, (args, result.stderr)
        _no_traceback(result)
    inferred = cli("data", "schema", "infer", "big.csv")
    assert inferred.returncode == 0, inferred.stderr
    (tmp_path / "schema.yaml").write_text(inferred.stdout)
    checked = cli("data", "validate", "big.csv", "--schema", "schema.yaml")
    assert checked.returncode == 0, checked.stderr
    assert "valid" in checked.stdout


def test_cli_malformed_csv_with_a_huge_cell_is_exit_2(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_bytes(b"a,b\n1," + b"q" * HUGE + b"\n2,3,4\n")
    for args in (("data", "commit", "ds", "bad.csv"), ("data", "profile", "bad.csv")):
        result = cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        _no_traceback(result)
        headline = result.stderr.splitlines()[0]
        assert headline.startswith("error: ") and headline.endswith(
            "bad.csv, line 3: ragged row: expected 2 fields (as in the header), found 3"
        ), result.stderr
