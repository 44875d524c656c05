"""Demo step 4: the classification template as a cached pipeline, run twice.

The template is written into a project folder as ``loopml init --template`` does and run
in the demo's workspace (passed down to the pipeline and its workers, never through
environment variables), the second time from the cache.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loopml.entities import StepStatus
from loopml.pipelines import load_pipeline, read_config, run_pipeline, write_template

if TYPE_CHECKING:
    from loopml.workspace import Workspace

MODULE = "pipeline"


@dataclass(frozen=True)
class PipelineDemo:
    """Two runs of the template: the first computes, the second reuses the cache."""

    folder: Path
    first_run_id: str
    second_run_id: str
    steps: int
    cached_on_rerun: int
    candidate: str


def _load(folder: Path) -> object:
    """Import the project's ``pipeline:training`` from ``folder`` (workers import it too)."""
    where = str(folder.resolve())
    if where not in sys.path:
        sys.path.insert(0, where)
    loaded = sys.modules.get(MODULE)
    if loaded is not None and Path(getattr(loaded, "__file__", "") or "").parent != Path(where):
        del sys.modules[MODULE]  # another project's pipeline.py, from an earlier demo
    return load_pipeline(f"{MODULE}:training")


def run_template(
    workspace: Workspace, folder: Path, *, days: int, rows_per_day: int, seed: int
) -> PipelineDemo:
    """Write the template (once) into ``folder`` and run it twice in ``workspace``.

    It generates the demo's own transactions (same days, rows and seed), so its ingest
    step commits bytes the dataset already holds and adds no version: a demo run twice
    adds versions only for what changed.
    """
    if not (folder / "pipeline.py").exists():
        write_template("classification", folder)
    pipe = _load(folder)
    params = {
        **read_config(str(folder / "params.yaml")),
        "days": days,
        "rows_per_day": rows_per_day,
        "seed": seed,
    }
    first = run_pipeline(pipe, params, workspace=workspace)  # type: ignore[arg-type]
    second = run_pipeline(pipe, params, workspace=workspace)  # type: ignore[arg-type]
    return PipelineDemo(
        folder=folder,
        first_run_id=first.id,
        second_run_id=second.id,
        steps=len(second.steps),
        cached_on_rerun=sum(1 for step in second.steps if step.status is StepStatus.CACHED),
        candidate=f"{params['model_name']}@candidate",
    )
