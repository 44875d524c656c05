"""``loopml deploy``: a canary created, stepped, paused, resumed, promoted and rolled back."""

from __future__ import annotations

import json
from pathlib import Path

import loopml
from tests.fixtures.cli import Cli


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    with loopml.Workspace.open(home=home) as ws:
        ws.store.create_model("fraud", actor="ana")
        for n in (1, 2):
            ws.store.create_model_version(
                "fraud", actor="ana", semver=f"1.{n}.0", manifest_digest=f"{n:064x}",
                payload_digest=f"{n + 9:064x}", flavor="sklearn", model_class="LR",
            )  # fmt: skip
        ws.store.set_alias("fraud", "champion", 1, actor="ana")
    return home


def test_a_canary_from_the_command_line(run_cli: Cli, tmp_path: Path) -> None:
    home = ["--home", str(_home(tmp_path))]
    (tmp_path / "analysis.yaml").write_text("metrics:\n  error_rate: {max: 0.05}\n")

    def run(*args: str) -> dict | list:
        done = run_cli(*home, "deploy", *args, "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    created = run(
        "create", "fraud", "--model", "fraud@champion", "--candidate", "fraud/2",
        "--steps", "10,100", "--analysis", str(tmp_path / "analysis.yaml"),
    )  # fmt: skip
    assert created["steps"] == [10, 100] and created["analysis"]["metrics"]["error_rate"]
    assert run("advance", "fraud")["arms"][1]["weight"] == 10
    assert run("pause", "fraud", "--reason", "look first")["status"] == "paused"
    assert run("resume", "fraud")["status"] == "active"
    assert run("promote", "fraud")["status"] == "completed"
    rolled = run("rollback", "fraud", "--reason", "alert fired")
    assert rolled["status"] == "rolled_back" and rolled["arms"][0]["version"] == 1
    status = run("status", "fraud")
    assert status["last_event"]["reason"] == "alert fired"
    assert [e["kind"] for e in run("history", "fraud")] == [
        "created", "step", "pause", "resume", "promotion", "rollback",
    ]  # fmt: skip
    assert [d["name"] for d in run("list")] == ["fraud"]
    text = run_cli(*home, "deploy", "history", "fraud")
    assert text.returncode == 0 and "alert fired" in text.stdout
    bad = run_cli(*home, "deploy", "create", "x", "--steps", "5,fifty")
    assert bad.returncode == 2 and "--steps" in bad.stderr
    typo = tmp_path / "typo.yaml"
    typo.write_text("metrics:\n  eror_rate: {}\n")
    bad = run_cli(*home, "deploy", "create", "x", "--candidate", "fraud/2", "--analysis", str(typo))
    assert bad.returncode == 2 and f"{typo}:2" in bad.stderr
