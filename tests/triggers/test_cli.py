"""`loopml triggers add|list|show|remove|fire|history` on a real home."""

from __future__ import annotations

import json
from pathlib import Path

import loopml
from tests.fixtures.cli import Cli


def test_triggers_commands(loop_ws: loopml.Workspace, cli: Cli, tmp_path: Path) -> None:
    home = ["--home", str(loop_ws.home)]
    rules = tmp_path / "triggers.yaml"
    rules.write_text(
        "triggers:\n"
        "  - name: nightly\n    kind: schedule\n    model: fraud\n"
        "    condition: {cron: '0 2 * * *'}\n    budget_per_day: 1\n"
        "  - name: by-hand\n    kind: manual\n    model: fraud\n    cooldown_s: 3600\n"
    )
    added = cli(*home, "triggers", "add", str(rules), "--json")
    assert added.returncode == 0, added.stderr
    assert [t["name"] for t in json.loads(added.stdout)] == ["nightly", "by-hand"]
    listed = cli(*home, "triggers", "list")
    assert "nightly" in listed.stdout and "1/day" in listed.stdout
    as_json = json.loads(cli(*home, "triggers", "list", "--json").stdout)
    assert [t["name"] for t in as_json] == ["by-hand", "nightly"]
    fired = cli(*home, "triggers", "fire", "by-hand", "--reason", "test", "--json")
    assert fired.returncode == 0 and json.loads(fired.stdout)["chain"]
    again = cli(*home, "triggers", "fire", "by-hand")
    assert again.returncode == 1 and "cool-down" in again.stdout
    shown = json.loads(cli(*home, "triggers", "show", "by-hand", "--json").stdout)
    assert [e["kind"] for e in shown["events"]] == ["fired", "suppressed"]
    history = json.loads(cli(*home, "triggers", "history", "--json").stdout)
    assert {e["trigger"] for e in history} == {"by-hand"}
    removed = cli(*home, "triggers", "remove", "nightly", "--json")
    assert removed.returncode == 0 and json.loads(removed.stdout)["name"] == "nightly"
    gone = cli(*home, "triggers", "show", "nightly")
    assert gone.returncode == 2 and "not found" in gone.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nkind: drift\nmodel: m\ncondition: {threshold: -1}\n")
    refused = cli(*home, "triggers", "add", str(bad))
    assert refused.returncode == 2 and "bad.yaml:4" in refused.stderr
