"""``loopml runs`` and ``loopml tune`` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

from loopml.config import load_settings
from loopml.tracking import TrackingClient
from tests.fixtures.cli import Cli


def _seed(tmp_path: Path) -> list[str]:
    client = TrackingClient.from_settings(load_settings(cwd=tmp_path, env={}))
    ids = []
    for i, model in enumerate(["lr", "rf", "rf"]):
        with client.start_run(
            f"r{i}", params={"model": model, "C": i}, tags={"team": "risk"}
        ) as run:
            for step in range(3):
                run.log_metric("auc", 0.8 + i / 20 + step / 100)
            run.log_text(f"file {i}", "out.txt")
        ids.append(run.id)
    client.close()
    return ids


def test_list_filter_sort_page_json(cli: Cli, tmp_path: Path) -> None:
    ids = _seed(tmp_path)
    out = cli(
        "runs",
        "list",
        "--filter",
        "metrics.auc > 0.84 and params.model = 'rf' and tags.team = 'risk'",
        "--order-by",
        "metrics.auc desc",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [r["id"] for r in data["runs"]] == [ids[2], ids[1]] and data["total"] == 2
    assert abs(data["runs"][0]["metrics"]["auc"] - 0.92) < 1e-9
    page2 = json.loads(cli("runs", "list", "--limit", "2", "--page", "2", "--json").stdout)
    assert [r["id"] for r in page2["runs"]] == [ids[0]]
    table = cli("runs", "list")
    assert table.returncode == 0 and ids[1] in table.stdout


def test_malformed_filter_exits_2_pointing_at_the_token(cli: Cli, tmp_path: Path) -> None:
    _seed(tmp_path)
    out = cli("runs", "list", "--filter", "metrics.auc > 0.9 params.C = 1")
    assert out.returncode == 2
    assert "column 19" in out.stderr and "Traceback" not in out.stderr
    lines = out.stderr.splitlines()
    filter_line = next(line for line in lines if "metrics.auc > 0.9 params.C" in line)
    caret_line = lines[lines.index(filter_line) + 1]
    assert caret_line.index("^") == filter_line.index("params.C")


def test_show_compare_delete_gc(cli: Cli, tmp_path: Path) -> None:
    ids = _seed(tmp_path)
    shown = json.loads(cli("runs", "show", ids[1], "--json").stdout)
    assert shown["params"] == {"model": "rf", "C": "1"} and shown["metrics"]["auc"]["count"] == 3
    assert {a["path"] for a in shown["artifacts"]} >= {"out.txt", "environment/requirements.txt"}
    assert cli("runs", "show", ids[1]).returncode == 0
    missing = cli("runs", "show", "f" * 32)
    assert missing.returncode == 2 and "not found" in missing.stderr
    compared = json.loads(
        cli("runs", "compare", ids[0], ids[1], "--history", "auc", "--json").stdout
    )
    assert compared["differing_params"] == ["C", "model"]
    assert abs(compared["metrics"]["auc"][ids[1]]["max"] - 0.87) < 1e-9
    assert [p[0] for p in compared["histories"]["auc"][ids[0]]] == [0, 1, 2]
    assert cli("runs", "compare", ids[0], ids[1]).returncode == 0
    assert cli("runs", "delete", ids[0], "--json").returncode == 0
    listed = json.loads(cli("runs", "list", "--json").stdout)
    assert ids[0] not in [r["id"] for r in listed["runs"]]
    assert cli("runs", "restore", ids[0]).returncode == 0
    assert cli("runs", "delete", ids[0]).returncode == 0
    gc = json.loads(cli("runs", "gc", "--json").stdout)
    assert len(gc["freed"]) == 1 and gc["bytes_freed"] == len("file 0")


def test_tune_from_a_spec(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(
        "def objective(trial):\n    return -(trial.params['x'] - 1) ** 2\n"
    )
    (tmp_path / "spec.yaml").write_text(
        "objective: train.py:objective\n"
        "n_trials: 6\n"
        "seed: 0\n"
        "space:\n"
        "  x: {type: float, low: -3, high: 3}\n"
    )
    out = cli("tune", "spec.yaml", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert len(result["trials"]) == 6
    children = json.loads(cli("runs", "list", "--parent", result["parent_run_id"], "--json").stdout)
    assert children["total"] == 6
    assert cli("tune", "spec.yaml", "--n-trials", "2").returncode == 0


def test_tune_bad_specs_exit_2(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("objective: nowhere:fn\nspace: {x: [1, 2]}\nn_trials: 0\n")
    out = cli("tune", "bad.yaml")
    assert out.returncode == 2 and "n_trials" in out.stderr
    (tmp_path / "bad2.yaml").write_text("objective: nowhere:fn\nspace: {x: [1, 2]}\n")
    out = cli("tune", "bad2.yaml")
    assert out.returncode == 2 and "cannot load objective" in out.stderr
    assert cli("tune", "missing.yaml").returncode == 2
    assert cli("tune", "bad2.yaml", "--executor", "ray").returncode == 2
