"""Running and resuming pipelines, and loading them by ``module:attr``."""

from __future__ import annotations

import dataclasses
import importlib
import os
import socket
import sys
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopml import lineage
from loopml.artifacts import ArtifactStore
from loopml.entities import PipelineRun, PipelineStatus, StepRun, StepStatus
from loopml.errors import Conflict, InvalidInput, InvalidPipeline, PipelineFailed
from loopml.ids import ObjectRef, new_id
from loopml.lineage import ObjectKind, Relation
from loopml.pipelines import _materialisers as mats
from loopml.pipelines._definition import Pipeline
from loopml.pipelines._executors import Executor, LocalExecutor
from loopml.pipelines._runner import LEASE_TTL_S, RunContext, execute, now_ms
from loopml.plugins import load as load_plugin
from loopml.workspace import Workspace, current_workspace

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from loopml.config import Settings
    from loopml.pipelines._graph import Graph
    from loopml.store import Store


@dataclass(frozen=True)
class PipelineResult:
    """The outcome of a pipeline run: its record, its steps, and access to outputs."""

    run: PipelineRun
    steps: tuple[StepRun, ...]
    artifact_url: str
    # The workspace's own store (its credentials: a server's artifact API needs the token
    # that a store rebuilt from artifact_url would lack).
    artifacts: ArtifactStore | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def id(self) -> str:
        """The pipeline run's id."""
        return self.run.id

    @property
    def ok(self) -> bool:
        """True when every step completed or was served from the cache."""
        return self.run.status is PipelineStatus.COMPLETED

    def step(self, name: str) -> StepRun:
        """The record of step ``name``."""
        for step in self.steps:
            if step.name == name:
                return step
        raise InvalidInput(
            f"pipeline run {self.id} has no step {name!r}",
            hint=f"Steps: {', '.join(s.name for s in self.steps)}.",
        )

    def output(self, name: str, index: int | None = None) -> Any:
        """Load output ``index`` (None: the only output) of step ``name``."""
        step = self.step(name)
        wanted = "output" if index is None else f"output_{index}"
        for out in step.outputs:
            if out.name == wanted:
                store = self.artifacts
                if store is None:
                    store = ArtifactStore(self.artifact_url)
                data = store.get(out.digest)
                return mats.by_name(out.materialiser).load(data)
        raise InvalidInput(f"step {name!r} has no output {wanted!r} (status {step.status})")


def load_pipeline(target: str) -> Pipeline[Any]:
    """Import the pipeline named ``"module:attr"`` (the working directory is importable).

    Raises:
        InvalidInput: The target is malformed, cannot be imported, or is not a pipeline.
    """
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise InvalidInput(
            f"cannot parse pipeline reference {target!r}",
            hint="Write it as module:attribute, e.g. pipeline:training for pipeline.py.",
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInput(
            f"cannot import module {module_name!r} of pipeline {target!r}: {exc}",
            hint="Run from the project folder, or put the module on PYTHONPATH.",
        ) from exc
    found = module
    for part in attr.split("."):
        found = getattr(found, part, None)  # type: ignore[assignment]
    if not isinstance(found, Pipeline):
        raise InvalidInput(
            f"{target!r} is not a pipeline (found {type(found).__name__})",
            hint="Point at a function decorated with @loopml.pipeline.",
        )
    return dataclasses.replace(found, target=target)


def _executor(name: str | Executor | None, settings: Settings) -> Executor:
    if name is None:
        name = settings.executor
    if not isinstance(name, str):
        return name
    if name == "local":
        return LocalExecutor()
    cls = load_plugin("executors", name)
    if name == "dask":
        return cls(address=settings.dask_address)  # type: ignore[no-any-return]
    return cls()  # type: ignore[no-any-return]


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_is_dead(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _json_params(params: Mapping[str, object]) -> dict[str, object]:
    import json

    return dict(json.loads(json.dumps(dict(params), default=repr)))


def _workspace(
    workspace: Workspace | None, settings: Settings | None, store: Store | None
) -> tuple[Workspace, bool]:
    """The workspace to run in, and whether this call opened it (and must close it)."""
    own = workspace is None and settings is not None
    if workspace is None:
        workspace = Workspace(settings) if settings is not None else current_workspace()
    if store is not None:
        workspace = workspace.derive(store=store)
    return workspace, own


def _go(
    graph: Graph,
    run: PipelineRun,
    steps: dict[str, StepRun],
    *,
    workspace: Workspace,
    chosen: Executor,
    owned: bool,
    cache: bool,
    on_event: Callable[[StepRun], None] | None,
    raise_on_failure: bool,
    extra_leases: list[str],
    owner: str,
    artifacts: ArtifactStore,
) -> PipelineResult:
    store, settings = workspace.store, workspace.settings
    lease = f"pipeline_run:{run.id}"
    ctx = RunContext(
        store=store,
        artifacts=artifacts,
        executor=chosen,
        workspace=workspace,
        use_cache=cache,
        price_cpu_hour=settings.price_cpu_hour,
        price_gpu_hour=settings.price_gpu_hour,
        on_event=on_event,
        owner=owner,
        leases=[lease, *extra_leases],
    )
    try:
        run, final = execute(graph, run, steps, ctx)
    finally:
        if owned:  # an executor passed in belongs to the caller, who closes it
            chosen.close()
        store.release_lease(lease, owner)
    result = PipelineResult(
        run, tuple(final[n.name] for n in graph.nodes), artifacts.url, artifacts
    )
    if raise_on_failure and not result.ok:
        failed = [s.name for s in result.steps if s.status is StepStatus.FAILED]
        detail = next((s.error for s in result.steps if s.error and s.name in failed), "")
        last = (detail or "").strip().splitlines()[-1:] or [""]
        raise PipelineFailed(
            run.id,
            failed,
            f"pipeline run {run.id} failed in step(s) {', '.join(failed)}: {last[0]}",
        )
    return result


def run_pipeline(
    pipe: Pipeline[Any],
    params: Mapping[str, object] | None = None,
    *,
    executor: str | Executor | None = None,
    cache: bool = True,
    store: Store | None = None,
    settings: Settings | None = None,
    workspace: Workspace | None = None,
    on_event: Callable[[StepRun], None] | None = None,
    raise_on_failure: bool = True,
    run_id: str | None = None,
    schedule_id: str | None = None,
    extra_leases: tuple[str, ...] = (),
    project: str | None = None,
) -> PipelineResult:
    """Build, check, record and run a pipeline.

    Args:
        pipe: The pipeline.
        params: Values for the pipeline function's parameters.
        executor: ``"local"`` (default, or the ``executor`` setting), ``"dask"``, a plugin
            name, or an Executor instance.
        cache: False re-runs every step (``--no-cache``).
        store: Metadata store (default: the workspace's).
        settings: Settings to open a workspace from (default: the current workspace).
        workspace: The workspace to run in; steps run in it too, wherever the executor
            puts them (default: the current one).
        on_event: Called with each step record as it changes (progress views).
        raise_on_failure: Raise PipelineFailed when a step fails (after independent
            branches finished); False returns the failed result.
        run_id: Id for the new run (default: a new one).
        schedule_id: The schedule that started this run, if any.
        extra_leases: Further leases the runner renews while it runs.
        project: The governance project the run is recorded in (the reserved parameter
            ``loopml.project``; default: ``default``), what a shared server checks its
            writes and reads against.

    Returns:
        The PipelineResult.

    Raises:
        InvalidPipeline: The graph does not check out (nothing ran).
        PipelineFailed: A step failed after its retries.
    """
    ws, own = _workspace(workspace, settings, store)
    graph = pipe.graph(params)
    bound = pipe.bind(params)
    # Executor and artifact store first: a missing extra (dask, s3) must fail before a
    # pipeline run is recorded, not leave a run that never started behind.
    chosen = _executor(executor, ws.settings)
    artifacts = ws.artifacts
    store = ws.store
    owner = _owner()
    try:
        run = PipelineRun(
            id=run_id or new_id(),
            pipeline=pipe.name,
            status=PipelineStatus.RUNNING,
            created_at_ms=now_ms(),
            target=pipe.target,
            executor=chosen.name,
            cache=cache,
            params=_json_params(bound) | ({_project_key(): project} if project else {}),
            graph=graph.to_json(),
            schedule_id=schedule_id,
        )
        steps = {
            n.name: StepRun(id=new_id(), pipeline_run_id=run.id, name=n.name, upstream=n.upstream)
            for n in graph.nodes
        }
        store.create_pipeline_run(run, list(steps.values()))
        store.acquire_lease(f"pipeline_run:{run.id}", owner, LEASE_TTL_S)
        pipeline_ref = ObjectRef(ObjectKind.PIPELINE_RUN, run.id)
        lineage.record(
            [
                lineage.edge(pipeline_ref, ObjectRef(ObjectKind.STEP_RUN, s.id), Relation.STEP)
                for s in steps.values()
            ],
            store=store,
        )
        return _go(
            graph,
            run,
            steps,
            workspace=ws,
            chosen=chosen,
            owned=executor is None or isinstance(executor, str),
            cache=cache,
            on_event=on_event,
            raise_on_failure=raise_on_failure,
            extra_leases=list(extra_leases),
            owner=owner,
            artifacts=artifacts,
        )
    finally:
        if own:
            ws.close()


def resume(
    run_id: str,
    *,
    pipe: Pipeline[Any] | None = None,
    executor: str | Executor | None = None,
    store: Store | None = None,
    settings: Settings | None = None,
    workspace: Workspace | None = None,
    on_event: Callable[[StepRun], None] | None = None,
    raise_on_failure: bool = True,
) -> PipelineResult:
    """Run again only the steps of ``run_id`` that failed, were skipped or never ran.

    Steps that completed keep their outputs; the run keeps its id. A run whose runner was
    killed (even with SIGKILL) can be resumed once its runner is gone.

    Args:
        run_id: The pipeline run to resume.
        pipe: The pipeline (default: imported from the run's recorded ``module:attr``).
        executor: As for :func:`run_pipeline` (default: the run's executor).
        store: Metadata store (default: the workspace's).
        settings: Settings to open a workspace from (default: the current workspace).
        workspace: The workspace to run in (default: the current one).
        on_event: Called with each step record as it changes.
        raise_on_failure: Raise PipelineFailed if a step fails again.

    Raises:
        Conflict: The run is still being run by a live process.
        InvalidPipeline: The pipeline's steps changed since the run started.
    """
    ws, own = _workspace(workspace, settings, store)
    store = ws.store
    try:
        run = store.get_pipeline_run(run_id)
        if pipe is None:
            if not run.target:
                raise InvalidInput(
                    f"pipeline run {run_id} was started from code that cannot be imported",
                    hint="Resume it from Python: resume(run_id, pipe=your_pipeline).",
                )
            pipe = load_pipeline(run.target)
        chosen = _executor(executor or run.executor, ws.settings)
        artifacts = ws.artifacts
        owner = _owner()
        lease_name = f"pipeline_run:{run.id}"
        if not store.acquire_lease(lease_name, owner, LEASE_TTL_S):
            lease = store.get_lease(lease_name)
            if lease is None or not _owner_is_dead(lease.owner):
                raise Conflict(
                    f"pipeline run {run_id} is still being run by {lease.owner if lease else '?'}",
                    hint=f"Wait for it to finish, or for its lease to lapse ({LEASE_TTL_S:.0f}s "
                    "after its runner died).",
                )
            store.release_lease(lease_name, lease.owner)
            store.acquire_lease(lease_name, owner, LEASE_TTL_S)
        try:
            graph, steps, run = _reopen(pipe, run, store)
        except BaseException:
            store.release_lease(lease_name, owner)
            raise
        return _go(
            graph,
            run,
            steps,
            workspace=ws,
            chosen=chosen,
            owned=not isinstance(executor, Executor),
            cache=run.cache,
            on_event=on_event,
            raise_on_failure=raise_on_failure,
            extra_leases=[],
            owner=owner,
            artifacts=artifacts,
        )
    finally:
        if own:
            ws.close()


def _project_key() -> str:
    """The reserved parameter naming a pipeline run's governance project."""
    from loopml.governance import PROJECT_TAG

    return PROJECT_TAG


def _reopen(
    pipe: Pipeline[Any], run: PipelineRun, store: Store
) -> tuple[Graph, dict[str, StepRun], PipelineRun]:
    key = _project_key()
    graph = pipe.graph({k: v for k, v in run.params.items() if k != key})
    recorded = {s.name: s for s in store.list_step_runs(run.id)}
    if set(recorded) != {n.name for n in graph.nodes}:
        raise InvalidPipeline(
            f"{pipe.where}: pipeline {pipe.name!r} has other steps than run {run.id} had "
            f"({', '.join(sorted(recorded))})",
            hint="Start a new run; the cache reuses what is unchanged.",
        )
    steps = {
        name: step
        if step.status.is_done
        else dataclasses.replace(step, status=StepStatus.PENDING, attempts=0, error=None)
        for name, step in recorded.items()
    }
    for step in steps.values():
        if not step.status.is_done:
            store.save_step_run(step)
    run = dataclasses.replace(
        run, status=PipelineStatus.RUNNING, resumes=run.resumes + 1, ended_at_ms=None, error=None
    )
    store.save_pipeline_run(run)
    return graph, steps, run
