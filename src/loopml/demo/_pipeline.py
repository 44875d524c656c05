"""Demo step 4: the classification template as a cached pipeline, run twice via the CLI.

It runs as ``loopml pipeline run`` in a child process because the template's steps read
their settings from the working directory and ``LOOPML_*`` variables, as a user's project
does; the child gets the demo's home through those variables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loopml.errors import LoopmlError
from loopml.pipelines import write_template

if TYPE_CHECKING:
    from pathlib import Path

    from loopml.config import Settings


@dataclass(frozen=True)
class PipelineDemo:
    """Two runs of the template: the first computes, the second reuses the cache."""

    folder: Path
    first_run_id: str
    second_run_id: str
    steps: int
    cached_on_rerun: int
    candidate: str


def _run(folder: Path, env: dict[str, str], params: list[str]) -> dict[str, object]:
    command = [
        sys.executable,
        "-m",
        "loopml",
        "pipeline",
        "run",
        "pipeline:training",
        "--config",
        "params.yaml",
        *params,
        "--json",
    ]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise LoopmlError(
            f"the template pipeline failed in {folder} (exit {done.returncode})",
            hint=done.stderr.strip()[-2000:]
            or "Run it by hand to see why: "
            "loopml pipeline run pipeline:training --config params.yaml",
        )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def run_template(
    settings: Settings, folder: Path, *, days: int, rows_per_day: int, seed: int
) -> PipelineDemo:
    """Write the template (once) into ``folder`` and run it twice in the demo's home.

    It generates the demo's own transactions (same days, rows and seed), so its ingest
    step commits bytes the dataset already holds and adds no version: a demo run twice
    adds versions only for what changed.
    """
    if not (folder / "pipeline.py").exists():
        write_template("classification", folder)
    env = {
        **os.environ,
        "LOOPML_HOME": str(settings.home),
        "LOOPML_DB_URL": settings.db_url,
        "LOOPML_ARTIFACT_URL": settings.artifact_url,
    }
    same_data = ["-p", f"days={days}", "-p", f"rows_per_day={rows_per_day}", "-p", f"seed={seed}"]
    first = _run(folder, env, same_data)
    second = _run(folder, env, same_data)
    steps = second["steps"]
    params = second["params"]
    assert isinstance(steps, list) and isinstance(params, dict)
    return PipelineDemo(
        folder=folder,
        first_run_id=str(first["id"]),
        second_run_id=str(second["id"]),
        steps=len(steps),
        cached_on_rerun=sum(1 for step in steps if step["status"] == "CACHED"),
        candidate=f"{params['model_name']}@candidate",
    )
