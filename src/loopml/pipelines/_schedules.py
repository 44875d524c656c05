"""Schedules and the agent: start due pipeline runs, once each, whatever the number of
agents (a compare-and-set on the schedule plus a lease while the run lasts)."""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING

from loopml.entities import Schedule
from loopml.errors import InvalidInput, NotFound
from loopml.ids import new_id
from loopml.pipelines._api import PipelineResult, _owner, load_pipeline, run_pipeline
from loopml.pipelines._runner import LEASE_TTL_S, now_ms
from loopml.workspace import Workspace, current_workspace, resolve_store

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from loopml.config import Settings
    from loopml.entities import StepRun
    from loopml.store import Store


def next_time_ms(cron: str, after_ms: int) -> int:
    """The first time strictly after ``after_ms`` that ``cron`` (UTC) names.

    Raises:
        InvalidInput: ``cron`` is not a valid five-field cron expression.
    """
    from croniter import croniter

    if not croniter.is_valid(cron):
        raise InvalidInput(
            f"invalid cron expression {cron!r}",
            hint='Use five fields: minute hour day month weekday, e.g. "0 2 * * *".',
        )
    start = dt.datetime.fromtimestamp(after_ms / 1000, tz=dt.UTC)
    following = croniter(cron, start).get_next(dt.datetime)
    return int(following.timestamp() * 1000)


def create_schedule(
    target: str,
    cron: str,
    *,
    name: str | None = None,
    params: Mapping[str, object] | None = None,
    store: Store | None = None,
    start_at_ms: int | None = None,
) -> Schedule:
    """Schedule the pipeline ``target`` (``module:attr``) on ``cron``.

    Args:
        target: The pipeline to run, as ``module:attr``; it is imported and its graph
            checked with ``params`` now, so mistakes show up at once.
        cron: Five-field cron expression, in UTC.
        name: Schedule name (default: the pipeline's name).
        params: Parameters for every run.
        store: Metadata store (default: the current workspace's).
        start_at_ms: First due time (default: the next time ``cron`` names).

    Returns:
        The stored Schedule.

    Raises:
        InvalidInput: Bad cron, target or parameters.
        Conflict: A schedule with that name exists.
    """
    pipe = load_pipeline(target)
    pipe.graph(params)
    first = start_at_ms if start_at_ms is not None else next_time_ms(cron, now_ms())
    next_time_ms(cron, first)  # validates the expression
    schedule = Schedule(
        id=new_id(),
        name=name or pipe.name,
        target=target,
        cron=cron,
        next_run_at_ms=first,
        created_at_ms=now_ms(),
        params=dict(params or {}),
    )
    return resolve_store(store).create_schedule(schedule)


def _in_store(store: Store | None, act: Callable[[Store], Schedule]) -> Schedule:
    return act(resolve_store(store))


def _not_found(name: str) -> NotFound:
    return NotFound("schedule", name, hint="List the schedules with `loopml pipeline schedules`.")


def update_schedule(
    name: str,
    *,
    cron: str | None = None,
    params: Mapping[str, object] | None = None,
    enabled: bool | None = None,
    store: Store | None = None,
) -> Schedule:
    """Change a schedule's cron expression, parameters or enabled state.

    A new cron expression, or enabling a disabled schedule, moves the next due time to
    the next time the expression names from now (a schedule switched back on does not
    catch up on the runs it missed while off).

    Args:
        name: The schedule.
        cron: New five-field cron expression, in UTC (None: keep).
        params: New parameters for every run, replacing the old ones (None: keep); the
            pipeline is imported and its graph checked with them.
        enabled: False pauses the schedule (the agent skips it), True resumes it.
        store: Metadata store (default: the current workspace's).

    Returns:
        The updated Schedule.

    Raises:
        NotFound: No schedule has that name.
        InvalidInput: Bad cron expression or parameters.
    """

    def act(db: Store) -> Schedule:
        try:
            current = db.get_schedule(name)
        except NotFound as exc:
            raise _not_found(name) from exc
        if params is not None:
            load_pipeline(current.target).graph(params)
        expression = cron if cron is not None else current.cron
        next_time_ms(expression, now_ms())  # validates the expression
        resumed = enabled is True and not current.enabled
        due = next_time_ms(expression, now_ms()) if cron is not None or resumed else None
        try:
            return db.update_schedule(
                name, cron=cron, params=params, enabled=enabled, next_run_at_ms=due
            )
        except NotFound as exc:  # removed meanwhile
            raise _not_found(name) from exc

    return _in_store(store, act)


def remove_schedule(name: str, *, store: Store | None = None) -> Schedule:
    """Delete a schedule; runs it started stay.

    Args:
        name: The schedule.
        store: Metadata store (default: the current workspace's).

    Returns:
        The schedule as it was.

    Raises:
        NotFound: No schedule has that name.
    """

    def act(db: Store) -> Schedule:
        try:
            current = db.get_schedule(name)
            db.delete_schedule(name)
        except NotFound as exc:
            raise _not_found(name) from exc
        return current

    return _in_store(store, act)


def run_due(
    *,
    store: Store | None = None,
    settings: Settings | None = None,
    workspace: Workspace | None = None,
    owner: str | None = None,
    on_event: Callable[[StepRun], None] | None = None,
    at_ms: int | None = None,
) -> list[PipelineResult]:
    """Start every due schedule once; return the runs this caller started.

    A schedule is claimed by moving its due time forward with a compare-and-set, so two
    agents never start the same due run; a lease keeps a schedule from running twice at
    the same time when a run outlasts the interval.
    """
    if workspace is None:
        workspace = Workspace(settings) if settings is not None else current_workspace()
    if store is not None:
        workspace = workspace.derive(store=store)
    store = workspace.store
    owner = owner or _owner()
    clock = at_ms if at_ms is not None else now_ms()
    started: list[PipelineResult] = []
    for schedule in store.list_schedules():
        if not schedule.enabled or schedule.next_run_at_ms > clock:
            continue
        lease = f"schedule:{schedule.id}"
        if not store.acquire_lease(lease, owner, LEASE_TTL_S):
            continue
        try:
            run_id = new_id()
            if not store.claim_schedule(
                schedule.id,
                due_at_ms=schedule.next_run_at_ms,
                next_run_at_ms=next_time_ms(schedule.cron, clock),
                run_id=run_id,
            ):
                continue
            pipe = load_pipeline(schedule.target)
            started.append(
                run_pipeline(
                    pipe,
                    schedule.params,
                    workspace=workspace,
                    on_event=on_event,
                    raise_on_failure=False,
                    run_id=run_id,
                    schedule_id=schedule.id,
                    extra_leases=(lease,),
                )
            )
        finally:
            store.release_lease(lease, owner)
    return started


def run_agent(
    *,
    once: bool = False,
    interval_s: float = 30.0,
    settings: Settings | None = None,
    workspace: Workspace | None = None,
    on_run: Callable[[PipelineResult], None] | None = None,
    max_loops: int | None = None,
) -> list[PipelineResult]:
    """The agent loop: start due scheduled runs, then sleep ``interval_s``, forever.

    Args:
        once: Run what is due now and return.
        interval_s: Seconds between checks.
        settings: Settings to open a workspace from (default: the current workspace).
        workspace: The workspace the agent holds for its life (default: the current one).
        on_run: Called with each finished run.
        max_loops: Stop after this many checks (tests); None: never.

    Returns:
        The runs started (only meaningful with ``once`` or ``max_loops``).
    """
    if interval_s <= 0:
        raise InvalidInput("the agent interval must be positive")
    own = workspace is None and settings is not None
    if workspace is None:
        workspace = Workspace(settings) if settings is not None else current_workspace()
    owner = _owner()
    started: list[PipelineResult] = []
    loops = 0
    try:
        while True:
            for result in run_due(workspace=workspace, owner=owner):
                started.append(result)
                if on_run is not None:
                    on_run(result)
            loops += 1
            if once or (max_loops is not None and loops >= max_loops):
                return started
            time.sleep(interval_s)
    finally:
        if own:
            workspace.close()
