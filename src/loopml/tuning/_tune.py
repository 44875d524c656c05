"""``tune``: Optuna search where every trial is a child run, locally or on Dask."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from loopml.config import settings_from_spec
from loopml.errors import InvalidInput
from loopml.tracking import TrackingClient, active_run, default_client
from loopml.tuning._executors import check_executor, open_executor
from loopml.tuning._space import to_distributions
from loopml.tuning._trial import Trial, TrialOutcome, TrialTask, run_trial
from loopml.workspace import Workspace, current_workspace

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

Executor = Literal["local", "dask"]


@dataclass(frozen=True)
class TrialResult:
    """One finished trial: its number, state (COMPLETE, PRUNED, FAIL), value, params, run."""

    number: int
    state: str
    value: float | None
    params: dict[str, Any]
    run_id: str
    error: str | None = None


@dataclass(frozen=True)
class TuneResult:
    """The outcome of :func:`tune`.

    Attributes:
        best_params: Params of the best completed trial.
        best_value: Its objective value.
        best_run_id: Its child run (its params are the best params, as recorded).
        parent_run_id: The run holding every trial as a child.
        trials: Every trial, by number.
    """

    best_params: dict[str, Any]
    best_value: float
    best_trial: int
    best_run_id: str
    parent_run_id: str
    trials: list[TrialResult] = field(default_factory=list)


def _pruner(pruner: Any) -> Any:
    import optuna

    if pruner is None or pruner == "none":
        return optuna.pruners.NopPruner()
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    raise InvalidInput(
        f"unknown pruner {pruner!r}", hint="Use 'median', 'hyperband', 'none' or an optuna pruner."
    )


def _worker_workspace(client: TrackingClient) -> Workspace:
    if client.workspace is not None:
        return client.workspace
    url = getattr(client.store, "url", None)
    if url is None or client.artifacts is None:
        raise InvalidInput(
            "parallel trials need a client whose store and artifacts workers can reopen",
            hint="Use TrackingClient.for_workspace(...) or parallelism=1.",
        )
    base = current_workspace()
    spec = {**base.settings.to_spec(), "db_url": url, "artifact_url": client.artifacts.url}
    return Workspace(settings_from_spec(spec), actor=base.actor)


def _workers(
    client: TrackingClient, executor: Executor, parallelism: int, dask_address: str | None
) -> tuple[Workspace | None, str | None]:
    """The workspace trial workers reopen (None: trials run in this process), and the Dask
    scheduler's address (default: the workspace's ``dask_address`` setting)."""
    remote = parallelism > 1 or executor == "dask"
    workspace = _worker_workspace(client) if remote else None
    if executor == "dask" and dask_address is None and workspace is not None:
        dask_address = workspace.settings.dask_address
    return workspace, dask_address


def _check_options(n_trials: int, parallelism: int, direction: str, executor: str) -> None:
    """Refuse bad options, and a missing extra before the parent run exists (none is left)."""
    if n_trials < 1 or parallelism < 1:
        raise InvalidInput(
            "n_trials and parallelism must be at least 1", hint="e.g. n_trials=20, parallelism=2"
        )
    if direction not in ("maximize", "minimize"):
        raise InvalidInput(f"direction must be 'maximize' or 'minimize', got {direction!r}")
    if executor not in ("local", "dask"):
        raise InvalidInput(f"unknown executor {executor!r}", hint="Use 'local' or 'dask'.")
    check_executor(executor)


def _study(direction: Literal["maximize", "minimize"], pruner: Any, seed: int | None) -> Any:
    """A quiet Optuna study with a seeded TPE sampler."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        direction=direction, pruner=pruner, sampler=optuna.samplers.TPESampler(seed=seed)
    )


@dataclass
class _Search:
    """The ask/tell loop: ``ask`` makes the next trial's task, ``tell`` records its outcome.

    The executors call both in this process; only the :class:`TrialTask` travels.
    """

    study: Any
    distributions: dict[str, Any]
    objective: Callable[[Trial], float]
    parent_run_id: str
    direction: str
    pruner: Any
    metric: str
    workspace: Workspace | None
    name: str
    progress: Callable[[TrialResult], None] | None
    results: dict[int, TrialResult] = field(default_factory=dict)
    _asked: dict[int, Any] = field(default_factory=dict)

    def ask(self) -> TrialTask:
        """Sample the next trial; its task carries the finished trials for pruning."""
        import optuna

        trial = self.study.ask(self.distributions)
        self._asked[trial.number] = trial
        snapshot = self.study.get_trials(
            deepcopy=False,
            states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED),
        )
        return TrialTask(
            trial.number,
            dict(trial.params),
            self.objective,
            self.parent_run_id,
            self.direction,
            self.pruner,
            self.distributions,
            list(snapshot),
            self.metric,
            self.workspace,
            self.name,
        )

    def tell(self, outcome: TrialOutcome) -> None:
        """Report the trial's steps and result to the study; keep and announce its result."""
        import optuna

        trial = self._asked.pop(outcome.number)
        for step, value in sorted(outcome.intermediate.items()):
            trial.report(value, step)
        state = optuna.trial.TrialState[outcome.state]
        self.study.tell(
            trial,
            outcome.value if state is optuna.trial.TrialState.COMPLETE else None,
            state=state,
        )
        result = TrialResult(
            outcome.number,
            outcome.state,
            outcome.value,
            dict(trial.params),
            outcome.run_id,
            outcome.error,
        )
        self.results[outcome.number] = result
        if self.progress is not None:
            self.progress(result)


def _run_trials(
    search: _Search,
    client: TrackingClient,
    n_trials: int,
    *,
    executor: Executor,
    parallelism: int,
    dask_address: str | None,
) -> None:
    """Run ``n_trials`` trials here one by one (no worker workspace), or on the executor's
    workers."""
    if search.workspace is None:
        for _ in range(n_trials):
            search.tell(run_trial(search.ask(), client))
        return
    with open_executor(executor, parallelism, dask_address) as pool:
        pool.run(search.ask, search.tell, n_trials)


def tune(
    objective: Callable[[Trial], float],
    space: Mapping[str, Any],
    *,
    n_trials: int = 20,
    direction: Literal["maximize", "minimize"] = "maximize",
    pruner: Any = None,
    parallelism: int = 1,
    executor: Executor = "local",
    dask_address: str | None = None,
    name: str = "tune",
    metric: str = "objective",
    seed: int | None = None,
    client: TrackingClient | None = None,
    progress: Callable[[TrialResult], None] | None = None,
) -> TuneResult:
    """Search ``space`` with Optuna; every trial is a child run of one parent run.

    Args:
        objective: ``objective(trial) -> float``; read ``trial.params``, log to
            ``trial.run``, call ``trial.report(value, step)`` and raise
            ``optuna.TrialPruned`` when ``trial.should_prune()``. For parallel trials it
            must be importable (a module-level function).
        space: The search space (see :func:`to_distributions`).
        n_trials: How many trials to run.
        direction: ``"maximize"`` or ``"minimize"`` the objective.
        pruner: ``"median"``, ``"hyperband"``, ``"none"``/None or an optuna pruner.
        parallelism: Trials run at once: 1 runs them in this process; more run them in
            local worker processes or on Dask.
        executor: ``"local"`` or ``"dask"`` (``dask`` extra).
        dask_address: Scheduler address for ``"dask"`` (default: settings'
            ``dask_address``, else a local cluster on 127.0.0.1).
        name: Name of the parent run.
        metric: Metric name trials log their objective under.
        seed: Sampler seed (TPE), for reproducible searches.
        client: Tracking client (default: the default client).
        progress: Called with each finished trial.

    Returns:
        The best trial and every trial; the parent run is tagged with the best.

    Raises:
        InvalidInput: Bad arguments or search space.
        MissingExtra: ``executor="dask"`` without the ``dask`` extra.
    """
    _check_options(n_trials, parallelism, direction, executor)
    distributions = to_distributions(space)
    the_pruner = _pruner(pruner)
    client = client or default_client()
    study = _study(direction, the_pruner, seed)
    workspace, dask_address = _workers(client, executor, parallelism, dask_address)
    params = {
        "n_trials": n_trials,
        "direction": direction,
        "parallelism": parallelism,
        "executor": executor,
        "pruner": type(the_pruner).__name__,
        "sampler": "TPESampler",
        "seed": seed,
    }
    with client.start_run(
        name, parent=active_run(), params=params, tags={"loopml.tune": "parent"}
    ) as parent:
        parent.log_dict({k: repr(v) for k, v in distributions.items()}, "tune/space.json")
        search = _Search(
            study,
            distributions,
            objective,
            parent.id,
            direction,
            the_pruner,
            metric,
            workspace,
            name,
            progress,
        )
        _run_trials(
            search,
            client,
            n_trials,
            executor=executor,
            parallelism=parallelism,
            dask_address=dask_address,
        )
        return _conclude(parent, study, search.results)


def _conclude(parent: Any, study: Any, results: dict[int, TrialResult]) -> TuneResult:
    done = [
        r
        for r in results.values()
        if r.state == "COMPLETE" and r.value is not None and not math.isnan(r.value)
    ]
    if not done:
        raise InvalidInput(
            "no trial completed; see the FAILED trial runs for the errors",
            hint=next((r.error for r in results.values() if r.error), None),
        )
    best = results[study.best_trial.number]
    parent.set_tags(
        {
            "loopml.tune.best_run_id": best.run_id,
            "loopml.tune.best_trial": best.number,
            "loopml.tune.best_value": repr(best.value),
            "loopml.tune.best_params": json.dumps(best.params, sort_keys=True, default=str),
        }
    )
    assert best.value is not None
    parent.log_metric("best_value", best.value)
    return TuneResult(
        best_params=dict(best.params),
        best_value=best.value,
        best_trial=best.number,
        best_run_id=best.run_id,
        parent_run_id=parent.id,
        trials=[results[n] for n in sorted(results)],
    )
