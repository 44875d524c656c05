"""CI/CD files: one pipeline for GitHub Actions, GitLab CI or Jenkins that, on a push,
validates the data, runs the training pipeline (whose steps evaluate the candidate by the
gates and register it), checks the committed data again and writes the model card.
loopml's exit codes (0 ok, 1 a check failed, 2 bad input) make the CI job pass or fail.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from loopml.errors import InvalidInput

CI_KINDS = ("github", "gitlab", "jenkins")

PATHS = {
    "github": ".github/workflows/loopml.yml",
    "gitlab": ".gitlab-ci.yml",
    "jenkins": "Jenkinsfile",
}


@dataclass(frozen=True)
class CiStage:
    """One stage of the CI pipeline: a name and the shell commands it runs."""

    name: str
    commands: tuple[str, ...]


def ci_stages(
    *,
    pipeline: str = "pipeline:training",
    config: str = "params.yaml",
    dataset: str = "transactions",
    model: str = "fraud",
) -> list[CiStage]:
    """The stages every CI file runs, in order (the commands the tests execute)."""
    q = shlex.quote
    return [
        CiStage("setup", ("loopml init",)),
        CiStage(
            "train",
            (f"loopml pipeline run {q(pipeline)} --config {q(config)}",),
        ),
        CiStage(
            "validate",
            (f"loopml data validate {q(dataset + '@main')} --schema {q(dataset)}",),
        ),
        CiStage(
            "register",
            (
                f"loopml models versions {q(model)}",
                f"loopml models card {q(model + '@candidate')} --out model-card.md",
            ),
        ),
    ]


def _github(stages: list[CiStage], python: str, install: str) -> str:
    lines = [
        "# Written by `loopml init --ci github`: on a push, validate the data, train,",
        "# evaluate by the gates and register the candidate. A failing loopml command",
        "# (exit 1: a check failed, 2: bad input) fails the job.",
        "name: loopml",
        "on:",
        "  push:",
        "  workflow_dispatch:",
        "jobs:",
        "  loop:",
        "    runs-on: ubuntu-latest",
        "    env:",
        "      LOOPML_HOME: .loopml",
        "    steps:",
        "      - uses: actions/checkout@v4",
        "      - uses: actions/setup-python@v5",
        "        with:",
        f'          python-version: "{python}"',
        "      - name: install",
        f"        run: {install}",
    ]
    for stage in stages:
        lines.append(f"      - name: {stage.name}")
        lines.append("        run: |")
        lines += [f"          {c}" for c in stage.commands]
    lines += [
        "      - uses: actions/upload-artifact@v4",
        "        if: always()",
        "        with:",
        "          name: model-card",
        "          path: model-card.md",
        "          if-no-files-found: ignore",
    ]
    return "\n".join(lines) + "\n"


def _gitlab(stages: list[CiStage], python: str, install: str) -> str:
    lines = [
        "# Written by `loopml init --ci gitlab`: on a push, validate the data, train,",
        "# evaluate by the gates and register the candidate; a failing command fails the job.",
        f'image: "python:{python}"',
        "variables:",
        "  LOOPML_HOME: .loopml",
        "stages:",
        "  - loop",
        "loop:",
        "  stage: loop",
        "  before_script:",
        f"    - {install}",
        "  script:",
    ]
    for stage in stages:
        lines.append(f"    - echo '== {stage.name}'")
        lines += [f"    - {c}" for c in stage.commands]
    lines += ["  artifacts:", "    when: always", "    paths:", "      - model-card.md"]
    return "\n".join(lines) + "\n"


def _groovy(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _jenkins(stages: list[CiStage], python: str, install: str) -> str:
    lines = [
        "// Written by `loopml init --ci jenkins`: on a push, validate the data, train,",
        "// evaluate by the gates and register the candidate; a failing command fails the build.",
        "pipeline {",
        "    agent any",
        "    environment {",
        "        LOOPML_HOME = '.loopml'",
        "    }",
        "    stages {",
        "        stage('install') {",
        "            steps {",
        f"                sh '{_groovy(install)}'",
        "            }",
        "        }",
    ]
    for stage in stages:
        lines += [f"        stage('{stage.name}') {{", "            steps {"]
        lines += [f"                sh '{_groovy(c)}'" for c in stage.commands]
        lines += ["            }", "        }"]
    lines += [
        "    }",
        "    post {",
        "        always {",
        "            archiveArtifacts artifacts: 'model-card.md', allowEmptyArchive: true",
        "        }",
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def ci_file(
    kind: str,
    *,
    pipeline: str = "pipeline:training",
    config: str = "params.yaml",
    dataset: str = "transactions",
    model: str = "fraud",
    python: str = "3.12",
    install: str = "pip install loopml",
) -> tuple[str, str]:
    """The CI file for ``kind`` (``github``, ``gitlab`` or ``jenkins``): (path, text).

    Raises:
        InvalidInput: Unknown kind.
    """
    if kind not in CI_KINDS:
        raise InvalidInput(f"unknown CI system {kind!r}", hint=f"Use one of {', '.join(CI_KINDS)}.")
    stages = ci_stages(pipeline=pipeline, config=config, dataset=dataset, model=model)
    render = {"github": _github, "gitlab": _gitlab, "jenkins": _jenkins}[kind]
    return PATHS[kind], render(stages, python, install)


def write_ci_file(kind: str, folder: str | Path = ".", **options: str) -> Path:
    """Write :func:`ci_file` under ``folder`` (parents made) and return its path."""
    relative, text = ci_file(kind, **options)
    target = Path(folder) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
