"""The pipeline commands end to end, through the real `loopml` command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures.cli import Cli

ROOT = Path(__file__).resolve().parents[2]
ENV = {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
SMALL = ["-p", "days=3", "-p", "rows_per_day=300", "-p", "n_estimators=20", "-p", "min_roc_auc=0"]


def test_template_project_runs_from_an_empty_folder(cli: Cli, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    made = cli("init", "--template", "classification", "--json", cwd=project, env=ENV)
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in project.iterdir()) == [
        ".loopml",
        "README.md",
        "gates.yaml",
        "params.yaml",
        "pipeline.py",
    ]
    first = cli(
        "pipeline",
        "run",
        "pipeline:training",
        "--config",
        "params.yaml",
        *SMALL,
        "--json",
        cwd=project,
        env=ENV,
    )
    assert first.returncode == 0, first.stderr
    run = json.loads(first.stdout)
    assert run["status"] == "COMPLETED" and run["params"]["days"] == 3
    names = [st["name"] for st in run["steps"]]
    assert names == ["ingest", "validate", "split", "train", "evaluate", "register"]
    assert run["steps"][3]["outputs"][0]["materialiser"] == "sklearn.pickle"
    assert [o["name"] for o in run["steps"][2]["outputs"]] == ["output_0", "output_1"]
    assert run["steps"][3]["run_id"] is not None  # train is a tracked run
    card = cli("models", "card", "fraud@candidate", "--out", "card.md", cwd=project, env=ENV)
    assert card.returncode == 0, card.stderr
    text = (project / "card.md").read_text()
    assert run["steps"][3]["run_id"] in text and "dataset_version:" in text
    again = cli(
        "pipeline",
        "run",
        "pipeline:training",
        "-c",
        "params.yaml",
        *SMALL,
        "-p",
        "tune=true",
        "--json",
        cwd=project,
        env=ENV,
    )
    assert again.returncode == 0, again.stderr
    statuses = {st["name"]: st["status"] for st in json.loads(again.stdout)["steps"]}
    # Upstream of train is reused; train runs again; register never caches (cache=False).
    # evaluate may be a hit: if tuning picks the first run's learning rate, the model's
    # bytes, and so evaluate's inputs, are identical.
    assert [statuses[n] for n in ("ingest", "validate", "split")] == ["CACHED"] * 3
    assert statuses["train"] == "COMPLETED" and statuses["register"] == "COMPLETED"
    versions = cli("models", "versions", "fraud", "--json", cwd=project, env=ENV)
    before = [v["number"] for v in json.loads(versions.stdout)]
    cached = cli(
        "pipeline", "run", "pipeline:training", "-c", "params.yaml", *SMALL, "--json",
        cwd=project, env=ENV,
    )  # fmt: skip
    assert cached.returncode == 0, cached.stderr
    statuses = {st["name"]: st["status"] for st in json.loads(cached.stdout)["steps"]}
    assert statuses.pop("register") == "COMPLETED" and set(statuses.values()) == {"CACHED"}
    # register ran again on the same run's model: it got the existing version back
    versions = cli("models", "versions", "fraud", "--json", cwd=project, env=ENV)
    assert [v["number"] for v in json.loads(versions.stdout)] == before
    listed = cli("pipeline", "list", "--json", cwd=project, env=ENV)
    assert [r["id"] for r in json.loads(listed.stdout)][-1] == run["id"]  # newest first
    shown = cli("pipeline", "show", run["id"], cwd=project, env=ENV)
    assert shown.returncode == 0 and "register" in shown.stdout and "completed" in shown.stdout
    again_json = cli("pipeline", "show", run["id"], "--json", cwd=project, env=ENV)
    assert json.loads(again_json.stdout)["steps"][0]["cost"] is not None


def test_failing_run_exits_1_then_resume(cli: Cli, tmp_path: Path) -> None:
    flag = tmp_path / "broken"
    flag.write_text("")
    failed = cli(
        "pipeline", "run", "tests.pipelines.steps:branching", "-p", f"flag={flag}", env=ENV
    )
    assert failed.returncode == 1, failed.stderr
    assert "failed" in failed.stderr and "loopml pipeline resume" in failed.stderr
    assert "Traceback" not in failed.stderr
    run_id = json.loads(cli("pipeline", "list", "--json", env=ENV).stdout)[0]["id"]
    shown = cli("pipeline", "show", run_id, env=ENV)
    assert "ValueError: flag" in shown.stdout and "skipped" in shown.stdout
    flag.unlink()
    resumed = cli("pipeline", "resume", run_id, "--json", env=ENV)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["resumes"] == 1


def test_bad_inputs_exit_2(cli: Cli, tmp_path: Path) -> None:
    for args in (
        ["pipeline", "run", "nocolon"],
        ["pipeline", "run", "no_such_module_xyz:pipe"],
        ["pipeline", "run", "tests.pipelines.steps:arithmetic", "-p", "novalue"],
        ["pipeline", "run", "tests.pipelines.steps:arithmetic", "-p", "m=1"],
        ["pipeline", "run", "tests.pipelines.steps:arithmetic", "--config", "missing.yaml"],
        ["pipeline", "run", "tests.pipelines.steps:arithmetic", "--executor", "ray"],
        ["pipeline", "show", "f" * 32],
        ["pipeline", "resume", "f" * 32],
        ["pipeline", "schedule", "tests.pipelines.steps:arithmetic", "--cron", "bad"],
        ["init", "--template", "nope"],
    ):
        result = cli(*args, env=ENV)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("error:") or "Usage" in result.stderr, args
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    listed = cli("pipeline", "run", "tests.pipelines.steps:arithmetic", "-c", "list.yaml", env=ENV)
    assert listed.returncode == 2 and "mapping" in listed.stderr


def test_schedule_and_agent_commands(cli: Cli) -> None:
    made = cli(
        "pipeline",
        "schedule",
        "tests.pipelines.steps:arithmetic",
        "--cron",
        "0 2 * * *",
        "--name",
        "nightly",
        "-p",
        "n=2",
        "--json",
        env=ENV,
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["params"] == {"n": 2}
    listed = cli("pipeline", "schedules", "--json", env=ENV)
    assert [s["name"] for s in json.loads(listed.stdout)] == ["nightly"]
    idle = cli("agent", "--once", env=ENV)
    assert idle.returncode == 0 and "nothing due" in idle.stdout
    dup = cli(
        "pipeline",
        "schedule",
        "tests.pipelines.steps:arithmetic",
        "--cron",
        "0 2 * * *",
        "--name",
        "nightly",
        env=ENV,
    )
    assert dup.returncode == 2 and "exists already" in dup.stderr


_WITHOUT_DISTRIBUTED = """
import importlib.util, sys
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a, **k: (
    None if name.partition(".")[0] == "distributed" else real(name, *a, **k)
)
from loopml.cli import main
main()
"""


def test_a_missing_extra_fails_before_a_pipeline_run_is_recorded(cli: Cli, tmp_path: Path) -> None:
    home = ["--home", str(tmp_path / "home")]
    target = "tests.pipelines.steps:arithmetic"
    wrapper = tmp_path / "without_distributed.py"
    wrapper.write_text(_WITHOUT_DISTRIBUTED)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env.update({"NO_COLOR": "1", "COLUMNS": "200", **ENV})
    no_dask = subprocess.run(
        [sys.executable, str(wrapper), *home, "pipeline", "run", target, "--executor", "dask"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert no_dask.returncode == 2, no_dask.stderr
    assert "'dask'" in no_dask.stderr and "not installed" in no_dask.stderr
    # A third-party executor (an entry point) whose module cannot be imported.
    info = tmp_path / "plugins" / "ghostexec-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ghostexec\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[loopml.executors]\nghost = ghost_executor_xyz:GhostExecutor\n"
    )
    path = os.pathsep.join([ENV["PYTHONPATH"], str(tmp_path / "plugins")])
    ghost = cli(*home, "pipeline", "run", target, "--executor", "ghost", env={"PYTHONPATH": path})
    assert ghost.returncode == 2, ghost.stderr
    assert "'ghost' executor" in ghost.stderr and "cannot be imported" in ghost.stderr
    for result in (no_dask, ghost):
        assert "Traceback" not in result.stderr
    listed = cli(*home, "pipeline", "list", "--json", env=ENV)
    if listed.returncode == 2:  # nothing was recorded, not even the home
        assert "not found" in listed.stderr
    else:
        assert listed.returncode == 0 and json.loads(listed.stdout) == []


def test_schedule_update_and_remove(cli: Cli) -> None:
    target = "tests.pipelines.steps:arithmetic"
    made = cli("pipeline", "schedule", "add", target, "--cron", "0 2 * * *", "-p", "n=2", env=ENV)
    assert made.returncode == 0, made.stderr
    changed = cli(
        "pipeline", "schedule", "update", "arithmetic", "--cron", "30 4 * * *",
        "-p", "label=y", "--disable", "--json", env=ENV,
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    body = json.loads(changed.stdout)
    assert (body["cron"], body["params"], body["enabled"]) == (
        "30 4 * * *",
        {"n": 2, "label": "y"},
        False,
    )
    listed = json.loads(cli("pipeline", "schedules", "--json", env=ENV).stdout)
    assert [(s["name"], s["enabled"], s["cron"]) for s in listed] == [
        ("arithmetic", False, "30 4 * * *")
    ]
    assert "nothing due" in cli("agent", "--once", env=ENV).stdout
    replaced = cli(
        "pipeline", "schedule", "update", "arithmetic", "--replace-params", "-p", "n=5",
        "--enable", "--json", env=ENV,
    )  # fmt: skip
    assert (
        json.loads(replaced.stdout)["params"] == {"n": 5} and json.loads(replaced.stdout)["enabled"]
    )
    for args in (
        ["update", "arithmetic", "--cron", "every day"],
        ["update", "arithmetic", "-p", "m=1"],  # the pipeline has no parameter m
        ["update", "nightly", "--disable"],
        ["remove", "nightly"],
    ):
        bad = cli("pipeline", "schedule", *args, env=ENV)
        assert bad.returncode == 2 and bad.stderr.startswith("error:"), (args, bad.stderr)
    missing = cli("pipeline", "schedule", "remove", "nightly", "--json", env=ENV)
    assert (
        "schedule 'nightly' not found" in missing.stderr
        and "loopml pipeline schedules" in missing.stderr
    )
    removed = cli("pipeline", "schedule", "remove", "arithmetic", "--json", env=ENV)
    assert removed.returncode == 0 and json.loads(removed.stdout)["name"] == "arithmetic"
    assert json.loads(cli("pipeline", "schedules", "--json", env=ENV).stdout) == []
