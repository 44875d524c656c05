"""Generated from the Typer app: every group and command has help, and every ``--json`` prints JSON.

A command added later is covered without editing this file for ``--help``; one that
declares ``--json`` fails ``test_every_json_command_is_exercised`` until it is added to
``JSON_COMMANDS`` below (or to ``JSON_ELSEWHERE`` with the test that covers it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Seeded, command_tree, is_group, options_of
from tests.fixtures.cli import Cli

TREE = list(command_tree())
GROUPS = [(path, cmd) for path, cmd in TREE if is_group(cmd)]
LEAVES = [(path, cmd) for path, cmd in TREE if not is_group(cmd)]


def _id(path: tuple[str, ...]) -> str:
    return " ".join(path) or "loopml"


def test_the_tree_has_every_documented_group() -> None:
    top = {path[0] for path, _ in TREE if len(path) == 1}
    assert {"data", "runs", "models", "pipeline", "evaluate", "lineage", "config", "db"} <= top
    assert {"init", "tune", "agent", "demo"} <= top
    assert len(LEAVES) >= 50


@pytest.mark.parametrize(("path", "group"), GROUPS, ids=[_id(p) for p, _ in GROUPS])
def test_every_group_help_lists_its_commands(run_cli: Cli, path, group: Any) -> None:
    done = run_cli(*path, "--help")
    assert done.returncode == 0, done.stderr
    assert f"Usage: loopml {' '.join(path)}".rstrip() in " ".join(done.stdout.split())
    listed = done.stdout
    for name, sub in group.commands.items():
        assert name in listed, f"{_id(path)} --help does not list {name}"
        if sub.help:
            first_words = " ".join(sub.help.split()[:3])
            assert first_words in " ".join(listed.split()), (name, first_words)
    bare = run_cli(*path) if path else run_cli()
    assert bare.returncode in (0, 2) and "Usage" in bare.stdout + bare.stderr  # help, no crash


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=[_id(p) for p, _ in LEAVES])
def test_every_command_help_exits_0_and_shows_its_options(run_cli: Cli, path, command: Any) -> None:
    done = run_cli(*path, "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert f"Usage: loopml {' '.join(path)}" in text
    for option in options_of(command):
        if option.startswith("--") and option != "--help":
            assert option in text, f"{_id(path)} --help does not show {option}"
    assert command.help, f"{_id(path)} has no help text"


JSON_LEAVES = {path for path, cmd in LEAVES if "--json" in options_of(cmd)}

# command -> argv after `loopml --home HOME` (placeholders filled from the seeded home)
JSON_COMMANDS: dict[tuple[str, ...], list[str]] = {
    ("agent",): ["agent", "--once"],
    ("config", "show"): ["config", "show"],
    ("batch",): [
        "batch",
        "models:/fraud@champion",
        "--input",
        "{folder}/data.csv",
        "--output",
        "{tmp}/scored.parquet",
    ],
    ("gc",): ["gc", "--dry-run"],
    ("artifacts", "generate-key"): ["artifacts", "generate-key"],
    ("features", "apply"): ["features", "apply", "{folder}/features.yaml"],
    ("features", "drift"): ["features", "drift", "customer_spend", "--start", "2026-10-02"],
    ("features", "stats"): ["features", "stats", "customer_spend", "--latest"],
    ("features", "get-historical"): [
        "features",
        "get-historical",
        "--entities",
        "{folder}/fs_entities.csv",
        "--service",
        "spend",
        "--output",
        "{tmp}/train.parquet",
    ],
    ("features", "get-online"): [
        "features",
        "get-online",
        "--entity",
        "customer_id=1",
        "--service",
        "spend",
    ],
    ("features", "list"): ["features", "list"],
    ("features", "materialize"): ["features", "materialize", "--end", "2026-10-03"],
    ("features", "plan"): ["features", "plan", "{folder}/features.yaml"],
    ("features", "show"): ["features", "show", "customer_spend"],
    ("data", "branch", "list"): ["data", "branch", "list", "tx"],
    ("data", "checkout"): ["data", "checkout", "tx@first-cut", "{tmp}/out"],
    ("data", "commit"): ["data", "commit", "json-commit", "{folder}/new.csv", "--no-profile"],
    ("data", "diff"): ["data", "diff", "tx@first-cut", "tx@main"],
    ("data", "log"): ["data", "log", "tx"],
    ("data", "profile"): ["data", "profile", "tx@main"],
    ("data", "schema", "list"): ["data", "schema", "list", "tx"],
    ("data", "schema", "save"): ["data", "schema", "save", "tx", "{tmp}/schema.yaml"],
    ("data", "schema", "show"): ["data", "schema", "show", "tx@1"],
    ("data", "validate"): ["data", "validate", "tx@main", "--schema", "{tmp}/schema.yaml"],
    ("db", "status"): ["db", "status"],
    ("deploy", "create"): ["deploy", "create", "json-deploy", "--model", "fraud/1"],
    ("deploy", "history"): ["deploy", "history", "json-deploy"],
    ("deploy", "list"): ["deploy", "list"],
    ("deploy", "status"): ["deploy", "status", "json-deploy"],
    ("db", "upgrade"): ["db", "upgrade"],
    ("evaluate",): [
        "evaluate",
        "models:/fraud@champion",
        "--data",
        "{folder}/data.csv",
        "--target",
        "is_fraud",
        "--no-infra",
    ],
    ("init",): ["init"],
    ("audit", "log"): ["audit", "log"],
    ("audit", "verify"): ["audit", "verify"],
    ("roles", "list"): ["roles", "list"],
    ("roles", "show"): ["roles", "show", "admin"],
    ("tokens", "list"): ["tokens", "list"],
    ("users", "list"): ["users", "list"],
    ("lineage", "show"): ["lineage", "show", "model_version:{version_id}"],
    ("monitor", "alerts"): ["monitor", "alerts"],
    ("monitor", "drift"): ["monitor", "drift", "tx@first-cut", "{folder}/data.csv"],
    ("models", "history"): ["models", "history", "fraud"],
    ("models", "list"): ["models", "list"],
    ("models", "register"): ["models", "register", "json-reg", "{folder}/model"],
    ("models", "request-promotion"): ["models", "request-promotion", "fraud/1", "staging"],
    ("models", "requests"): ["models", "requests", "fraud"],
    ("models", "show"): ["models", "show", "fraud"],
    ("models", "versions"): ["models", "versions", "fraud"],
    ("pipeline", "list"): ["pipeline", "list"],
    ("pipeline", "resume"): ["pipeline", "resume", "{pipeline_run}"],
    ("pipeline", "run"): ["pipeline", "run", "tests.pipelines.steps:arithmetic", "-p", "n=2"],
    ("pipeline", "schedule", "add"): [
        "pipeline",
        "schedule",
        "add",
        "tests.pipelines.steps:arithmetic",
        "--cron",
        "0 0 29 2 *",
        "--name",
        "json-schedule",
    ],
    ("pipeline", "schedule", "update"): [
        "pipeline",
        "schedule",
        "update",
        "leap-day",  # the seeded one, to the same never-due cron (commands run sorted)
        "--cron",
        "0 0 29 2 *",
    ],
    ("pipeline", "schedule", "remove"): ["pipeline", "schedule", "remove", "json-schedule"],
    ("pipeline", "schedules"): ["pipeline", "schedules"],
    ("pipeline", "show"): ["pipeline", "show", "{pipeline_run}"],
    ("predictions", "export"): ["predictions", "export", "--output", "{tmp}/log.parquet"],
    ("predictions", "list"): ["predictions", "list", "--model", "fraud"],
    ("predictions", "show"): ["predictions", "show", "seeded-pred-0"],
    ("runs", "compare"): ["runs", "compare", "{run0}", "{run1}"],
    ("runs", "delete"): ["runs", "delete", "{doomed_run}"],
    ("runs", "gc"): ["runs", "gc"],
    ("runs", "list"): ["runs", "list"],
    ("runs", "show"): ["runs", "show", "{run0}"],
    ("triggers", "history"): ["triggers", "history"],
    ("triggers", "list"): ["triggers", "list"],
    ("tune",): ["tune", "{folder}/tune.yaml"],
}
# commands whose --json output another test already parses (they take many seconds)
JSON_ELSEWHERE = {
    ("demo",): "tests/e2e/test_demo.py::test_demo_quick_runs_the_closed_loop",
    ("tokens", "create"): "tests/governance/test_cli.py::test_the_cli_governs_and_audits",
    ("artifacts", "rotate-key"): (
        "tests/artifacts/test_encryption_cli.py::test_rotate_key_from_the_command_line"
    ),
    # keys, signatures and their verification need a key pair made first
    (
        "models",
        "keygen",
    ): "tests/models/test_signing.py::test_the_cli_makes_keys_signs_and_verifies",
    ("models", "sign"): "tests/models/test_signing.py::test_the_cli_makes_keys_signs_and_verifies",
    (
        "models",
        "verify",
    ): "tests/models/test_signing.py::test_the_cli_makes_keys_signs_and_verifies",
    # these change a deployment's state, which one pass in sorted order cannot sequence
    ("deploy", "advance"): "tests/deploy/test_cli.py::test_a_canary_from_the_command_line",
    ("deploy", "pause"): "tests/deploy/test_cli.py::test_a_canary_from_the_command_line",
    ("deploy", "promote"): "tests/deploy/test_cli.py::test_a_canary_from_the_command_line",
    ("deploy", "resume"): "tests/deploy/test_cli.py::test_a_canary_from_the_command_line",
    ("deploy", "rollback"): "tests/deploy/test_cli.py::test_a_canary_from_the_command_line",
    ("deploy", "report"): "tests/deploy/test_controller_shadow.py::"
    "test_the_shadow_report_is_right_on_a_known_disagreement",
    ("deploy", "run"): "tests/deploy/test_controller.py::test_deploy_run_from_the_command_line",
    # these need a prediction log with feedback, which the seeded home does not have
    (
        "monitor",
        "performance",
    ): "tests/monitoring/test_cli.py::test_windows_and_performance_commands",
    ("monitor", "report"): "tests/monitoring/test_cli.py::test_report_html_and_json",
    ("monitor", "windows"): "tests/monitoring/test_cli.py::test_windows_and_performance_commands",
    # these need a rules file, or exit 1 on the seeded home (readiness fails it)
    (
        "readiness",
    ): "tests/triggers/test_readiness.py::test_cli_exit_one_when_an_item_fails_and_json",
    ("triggers", "add"): "tests/triggers/test_cli.py::test_triggers_commands",
    ("triggers", "fire"): "tests/triggers/test_cli.py::test_triggers_commands",
    ("triggers", "remove"): "tests/triggers/test_cli.py::test_triggers_commands",
    ("triggers", "show"): "tests/triggers/test_cli.py::test_triggers_commands",
}


def test_every_json_command_is_exercised() -> None:
    missing = JSON_LEAVES - set(JSON_COMMANDS) - set(JSON_ELSEWHERE)
    assert not missing, f"add these --json commands to JSON_COMMANDS: {sorted(missing)}"
    stale = (set(JSON_COMMANDS) | set(JSON_ELSEWHERE)) - JSON_LEAVES
    assert not stale, f"these no longer take --json: {sorted(stale)}"


def test_every_json_command_prints_valid_json(run_cli: Cli, seeded: Seeded, tmp_path: Path) -> None:
    """One pass over the seeded home: each --json command exits 0 with one JSON document."""
    (tmp_path / "schema.yaml").write_text(
        run_cli("--home", str(seeded.home), "data", "schema", "show", "tx@1").stdout
    )
    values = {
        "tmp": str(tmp_path),
        "folder": str(seeded.folder),
        "run0": seeded.run_ids[0],
        "run1": seeded.run_ids[1],
        "doomed_run": seeded.doomed_run,
        "version_id": seeded.version_id,
        "pipeline_run": seeded.pipeline_run,
    }
    failures = []
    outputs = {}
    for path, argv in sorted(JSON_COMMANDS.items()):
        home = str(tmp_path / "fresh") if path == ("init",) else str(seeded.home)
        args = [a.format(**values) for a in argv]
        done = run_cli("--home", home, *args, "--json", cwd=seeded.folder)
        try:
            outputs[path] = json.loads(done.stdout)
        except json.JSONDecodeError as exc:
            failures.append(
                f"{_id(path)}: not JSON ({exc}): {done.stdout[:200]!r} {done.stderr[-400:]}"
            )
            continue
        if done.returncode != 0:
            failures.append(f"{_id(path)}: exit {done.returncode}: {done.stderr[-300:]}")
    assert not failures, "\n".join(failures)
    # a few spot checks that the JSON is the data the command is about
    assert (
        outputs[
            (
                "runs",
                "show",
            )
        ]["id"]
        == seeded.run_ids[0]
    )
    assert outputs[("models", "versions")][0]["aliases"] == ["champion"]
    assert outputs[("pipeline", "show")]["id"] == seeded.pipeline_run
    assert outputs[("data", "validate")]["ok"] is True
    assert outputs[("db", "upgrade")]["from"] == outputs[("db", "upgrade")]["to"]
    assert outputs[("init",)]["home"] == str(tmp_path / "fresh")
    assert outputs[("agent",)] == []
    assert outputs[("config", "show")]["home"] == {"value": str(seeded.home), "source": "argument"}
