"""Read a step run's captured output back from the artifact store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml.errors import InvalidInput
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    from loopml.workspace import Workspace


def read_step_log(
    pipeline_run_id: str, step: str, *, workspace: Workspace | None = None
) -> str | None:
    """The captured stdout, stderr and logging of ``step``'s latest attempt, or None.

    None means no attempt of the step ran in this pipeline run (it was served from the
    cache, skipped, or is still pending) or it printed nothing. Output beyond the last
    1 MiB is dropped; the text then starts with a note saying how much.

    Raises:
        NotFound: There is no pipeline run ``pipeline_run_id``.
        InvalidInput: The run has no step named ``step``.
    """
    workspace = workspace or current_workspace()
    steps = workspace.store.list_step_runs(pipeline_run_id)
    for found in steps:
        if found.name == step:
            if found.log_digest is None:
                return None
            return workspace.artifacts.get(found.log_digest).decode("utf-8", "replace")
    raise InvalidInput(
        f"pipeline run {pipeline_run_id} has no step {step!r}",
        hint=f"Steps: {', '.join(s.name for s in steps) or 'none'}.",
    )
