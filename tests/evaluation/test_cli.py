"""``loopml evaluate`` through the real command line: exit 0 ok, 1 a gate failed, 2 bad
input, with a one-line error and a hint instead of a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.linear_model import LogisticRegression

from loopml.models import save_model

BASE = ("evaluate", "m", "--target", "target", "--no-infra")


@pytest.fixture
def project(tmp_path: Path, cancer) -> Path:
    """Model ``m`` on columns a..d, its data (good and bad), and gate files."""
    X, y = cancer
    save_model(LogisticRegression(max_iter=5000).fit(X, y), tmp_path / "m", input_example=X)
    frame = X.assign(target=y)
    frame.to_csv(tmp_path / "data.csv", index=False)
    frame.drop(columns="b").to_csv(tmp_path / "missing.csv", index=False)
    frame.assign(c=frame["c"].astype(object).where(frame.index != 3, "abc")).to_csv(
        tmp_path / "text.csv", index=False
    )
    frame.assign(c=frame["c"].where(frame.index != 5)).to_csv(tmp_path / "gap.csv", index=False)
    files = {
        "ok.yaml": "metrics:\n  roc_auc: {min: 0.8}\nslices:\n  min: {accuracy: 0.5}\n",
        "strict.yaml": "metrics:\n  roc_auc: {min: 0.9999}\n",
        "no_tolerance.yaml": "metrics:\n  roc_auc: {min: 0.8}\n"
        "no_regression:\n  against: champion\n",
        "regression.yaml": "no_regression:\n  against: champion\n  tolerance: {roc_auc: 0.01}\n",
        "typo_alias.yaml": "no_regression:\n  against: champoin\n  tolerance: {roc_auc: 0.01}\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def _input_error(result, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and len(lines) == 2, result.stderr  # headline + hint
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


def test_exit_codes_for_passing_and_failing_gates(cli, project):
    ok = cli(*BASE, "--data", "data.csv", "--gates", "ok.yaml", "--slice", "big=a > 15",
             "--json", "--html", "r.html", "--report", "r.json")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    body = json.loads(ok.stdout)
    assert body["passed"] is True and list(body["slices"]) == ["big"]
    assert json.loads((project / "r.json").read_text()) == body
    assert "<h2>Slices</h2>" in (project / "r.html").read_text()
    failed = cli(*BASE, "--data", "data.csv", "--gates", "strict.yaml")
    assert failed.returncode == 1, failed.stderr
    assert "roc_auc min 0.9999" in failed.stdout and "FAIL" in failed.stdout


def test_data_that_does_not_fit_the_model_exits_2(cli, project):
    _input_error(
        cli(*BASE, "--data", "missing.csv"),
        "missing.csv lacks column(s) 'b' of the model's signature",
        "The model takes: a, b, c, d",
    )
    _input_error(
        cli(*BASE, "--data", "text.csv"),
        "column 'c' of the evaluation data text.csv holds text",
        "'abc' in row 3",
    )
    _input_error(  # an empty cell: the model itself refuses it
        cli(*BASE, "--data", "gap.csv"),
        "the model m cannot score the evaluation data: ValueError: Input X contains NaN",
    )


def test_gate_files_missing_a_field_or_naming_no_alias_exit_2(cli, project):
    _input_error(
        cli(*BASE, "--data", "data.csv", "--gates", "no_tolerance.yaml"),
        "no_tolerance.yaml:4: no_regression needs 'tolerance'",
    )
    _input_error(
        cli(*BASE, "--data", "data.csv", "--gates", "regression.yaml"),
        "regression.yaml:2: no_regression.against names alias 'champion'",
        "against: models:/NAME@champion",
    )
    assert cli("models", "register", "bc", "m").returncode == 0
    assert cli("models", "policy", "bc", "champion").returncode == 0
    registered = (
        "evaluate",
        "models:/bc/1",
        "--target",
        "target",
        "--no-infra",
        "--data",
        "data.csv",
    )
    _input_error(
        cli(*registered, "--gates", "typo_alias.yaml"),
        "typo_alias.yaml:2: no_regression.against models:/bc@champoin names alias 'champoin'",
        "did you mean 'champion'",
    )
    first = cli(*registered, "--gates", "regression.yaml", "--json")
    assert first.returncode == 0, first.stderr  # declared but not set yet: nothing to beat
    (rule,) = json.loads(first.stdout)["gates"]
    assert rule["passed"] is True and rule["detail"] == "no model at models:/bc@champion yet"
