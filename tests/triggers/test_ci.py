"""`loopml init --ci github|gitlab|jenkins`: the files parse, and the commands they run
pass in a fresh project (exit codes drive the CI result)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from loopml import triggers
from loopml.errors import InvalidInput
from tests.fixtures.cli import Cli

ROOT = Path(__file__).parents[2]
STAGES = ["setup", "train", "validate", "register"]


def _github_commands(text: str) -> list[str]:
    doc = yaml.safe_load(text)
    trigger = doc.get("on", doc.get(True))  # YAML 1.1 loads a bare `on` key as True
    assert "push" in trigger
    steps = doc["jobs"]["loop"]["steps"]
    assert [s["name"] for s in steps if "name" in s] == ["install", *STAGES]
    runs = [s["run"] for s in steps if s.get("name") in STAGES]
    return [line for block in runs for line in block.splitlines() if line.strip()]


def _gitlab_commands(text: str) -> list[str]:
    doc = yaml.safe_load(text)
    script = doc["loop"]["script"]
    assert [s.split("== ")[1].strip("'") for s in script if s.startswith("echo")] == STAGES
    return [s for s in script if not s.startswith("echo")]


def _jenkins_commands(text: str) -> list[str]:
    code = "\n".join(line for line in text.splitlines() if not line.strip().startswith("//"))
    depth = 0
    for char in re.sub(r"'(?:\\.|[^'\\])*'", "''", code):  # braces outside strings
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0, "a closing brace without its opening one"
    assert depth == 0, "unbalanced braces"
    assert re.findall(r"stage\('([^']+)'\)", code) == ["install", *STAGES]
    assert code.lstrip().startswith("pipeline {") and "agent any" in code
    shells = re.findall(r"sh '((?:\\.|[^'\\])*)'", code)
    return [s.replace("\\'", "'").replace("\\\\", "\\") for s in shells[1:]]


PARSERS = {"github": _github_commands, "gitlab": _gitlab_commands, "jenkins": _jenkins_commands}


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_ci_files_parse_with_the_expected_stages(kind: str) -> None:
    path, text = triggers.ci_file(kind)
    assert path == triggers._ci.PATHS[kind]
    commands = PARSERS[kind](text)
    expected = [c for stage in triggers.ci_stages() for c in stage.commands]
    assert commands == expected


def test_unknown_ci_is_refused(cli: Cli, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown CI system"):
        triggers.ci_file("travis")
    done = cli("--home", str(tmp_path / "home"), "init", "--ci", "travis")
    assert done.returncode == 2 and "unknown CI system" in done.stderr
    assert not (tmp_path / "home").exists()


def test_init_ci_writes_a_file_whose_commands_pass(cli: Cli, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    home = tmp_path / "home"
    made = cli(
        "--home",
        str(home),
        "init",
        "--template",
        "classification",
        "--ci",
        "gitlab",
        "--json",
        cwd=project,
    )
    assert made.returncode == 0, made.stderr
    ci_path = project / ".gitlab-ci.yml"
    assert ci_path.exists()
    (project / "params.yaml").write_text(
        (project / "params.yaml").read_text().replace("days: 10", "days: 6")
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env |= {
        "LOOPML_HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(project)]),
    }
    for command in _gitlab_commands(ci_path.read_text()):
        args = shlex.split(command)
        assert args[0] == "loopml"
        done = subprocess.run(
            [sys.executable, "-m", "loopml", *args[1:]],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    assert (project / "model-card.md").exists()
