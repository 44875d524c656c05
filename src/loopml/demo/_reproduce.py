"""Demo step 8: re-run the pipeline run that made the champion; the cache reproduces it.

The run is found by lineage (model version <- tracking run <- step run <- pipeline run)
and started again with the parameters it recorded. Every step is served from the cache
with the same key and its register step names the same model version: the evidence
``loopml readiness`` reads for "pipeline reproducible".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from loopml import lineage, registry
from loopml.entities import StepStatus
from loopml.ids import ObjectKind, ObjectRef
from loopml.pipelines import load_pipeline, run_pipeline

if TYPE_CHECKING:
    from loopml.pipelines import Executor
    from loopml.workspace import Workspace


@dataclass(frozen=True)
class Rerun:
    """The champion, the pipeline run that made it, and what its re-run reused."""

    champion: str
    made_by: str | None
    rerun_id: str | None = None
    steps: int = 0
    cached: int = 0
    same_version: bool = False

    def describe(self) -> str:
        """One line of narration."""
        if self.made_by is None:
            return f"{self.champion} was not made by a pipeline run: nothing to re-run"
        names = "it names the same version" if self.same_version else "a DIFFERENT version"
        return (
            f"re-run {self.rerun_id} of pipeline run {self.made_by} (which made "
            f"{self.champion}): {self.cached}/{self.steps} steps from the cache; {names}"
        )


def pipeline_run_of(workspace: Workspace, model_version_id: str) -> str | None:
    """The nearest pipeline run upstream of a model version in the lineage, if any."""
    up = lineage.upstream(
        ObjectRef(ObjectKind.MODEL_VERSION, model_version_id), store=workspace.store
    )
    runs = [n for n in up if n.edge.src.kind == ObjectKind.PIPELINE_RUN.value]
    return min(runs, key=lambda n: n.depth).edge.src.id if runs else None


def reproduce(workspace: Workspace, model: str, executor: Executor) -> Rerun:
    """Re-run the pipeline run that made ``model@champion`` with its recorded parameters."""
    champion = registry.get_version(f"{model}@champion", store=workspace.store)
    name = f"{model}/{champion.number}"
    made_by = pipeline_run_of(workspace, champion.id)
    if made_by is None:
        return Rerun(name, None)
    made = workspace.store.get_pipeline_run(made_by)
    if made.target is None:
        return Rerun(name, made_by)
    result = run_pipeline(
        load_pipeline(made.target), dict(made.params), workspace=workspace, executor=executor
    )
    steps = {s.name for s in result.steps}
    registered = result.output("register") if "register" in steps else {}
    return Rerun(
        name,
        made_by,
        rerun_id=result.id,
        steps=len(result.steps),
        cached=sum(1 for s in result.steps if s.status is StepStatus.CACHED),
        same_version=registered.get("id") == champion.id,
    )
