"""One trial, run where the executor puts it: a child run plus an Optuna trial view."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopml.tracking import ActiveRun, TrackingClient
from loopml.workspace import use_workspace

if TYPE_CHECKING:
    from collections.abc import Callable

    from loopml.workspace import Workspace


class Trial:
    """What an objective receives: the sampled params, the trial's run, and pruning.

    Attributes:
        number: The trial's number in the study (0-based).
        params: The sampled parameter values.
        run: The trial's child run (log extra metrics or artifacts to it).
    """

    def __init__(
        self, number: int, params: dict[str, Any], run: ActiveRun, optuna_trial: Any, metric: str
    ) -> None:
        self.number = number
        self.params = params
        self.run = run
        self._trial = optuna_trial
        self._metric = metric
        self.intermediate: dict[int, float] = {}

    def report(self, value: float, step: int) -> None:
        """Report an intermediate objective value (logged as the metric, used for pruning)."""
        self.intermediate[int(step)] = float(value)
        self._trial.report(float(value), int(step))
        self.run.log_metric(self._metric, float(value), int(step))

    def should_prune(self) -> bool:
        """Whether the pruner says to stop this trial now (then raise ``optuna.TrialPruned``)."""
        return bool(self._trial.should_prune())


@dataclass
class TrialTask:
    """Everything a worker needs to run one trial (picklable)."""

    number: int
    params: dict[str, Any]
    objective: Callable[[Trial], float]
    parent_run_id: str
    direction: str
    pruner: Any
    distributions: dict[str, Any]
    snapshot: list[Any]
    metric: str
    workspace: Workspace | None = None
    study_name: str = "tune"


@dataclass
class TrialOutcome:
    """What came back from a trial."""

    number: int
    state: str
    value: float | None
    run_id: str
    intermediate: dict[int, float] = field(default_factory=dict)
    error: str | None = None


def _worker_client(workspace: Workspace) -> TrackingClient:
    # Unpickled workspaces are shared per process (workspace_for_spec), so is their client.
    return workspace.service("tracking.client", TrackingClient.for_workspace)


def run_trial(task: TrialTask, client: TrackingClient | None = None) -> TrialOutcome:
    """Run one trial in a child run against a snapshot of the study (for pruning)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    if client is None:
        assert task.workspace is not None
        client = _worker_client(task.workspace)
    study = optuna.create_study(
        direction=task.direction,  # type: ignore[arg-type]
        pruner=task.pruner,
        study_name=task.study_name,
    )
    if task.snapshot:
        study.add_trials(task.snapshot)
    study.enqueue_trial(task.params)
    optuna_trial = study.ask(task.distributions)
    run = client.start_run(
        f"trial-{task.number}",
        parent=task.parent_run_id,
        params=task.params,
        tags={"loopml.tune.trial": task.number, "loopml.tune.parent": task.parent_run_id},
    )
    trial = Trial(task.number, dict(task.params), run, optuna_trial, task.metric)
    scope = use_workspace(task.workspace) if task.workspace is not None else nullcontext()
    try:
        with scope:
            value = float(task.objective(trial))
    except optuna.TrialPruned:
        run.set_tag("loopml.tune.state", "PRUNED")
        run.end()
        return TrialOutcome(task.number, "PRUNED", None, run.id, trial.intermediate)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        run.set_tag("loopml.tune.state", "FAIL")
        from loopml.entities import RunStatus

        run.end(RunStatus.FAILED, error=error)
        return TrialOutcome(task.number, "FAIL", None, run.id, trial.intermediate, error)
    run.log_metric(task.metric, value, max(trial.intermediate, default=-1) + 1)
    run.set_tag("loopml.tune.state", "COMPLETE")
    run.end()
    return TrialOutcome(task.number, "COMPLETE", value, run.id, trial.intermediate)
