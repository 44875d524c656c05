"""The action chain a firing starts, recorded step by step as trigger events.

check_data -> train -> evaluate -> register -> canary -> promote. Each step records
``started`` then ``completed`` (or ``failed``) with what it made; a chain is resumed from
its first step without a ``completed`` event, so a killed agent's chain is finished by the
next agent without repeating a step. A lease (``trigger-chain:<id>``) keeps two agents
from running one chain; it is renewed by a heartbeat while a step runs.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopml import lineage
from loopml.entities import TriggerEvent, TriggerEventKind
from loopml.errors import InvalidTrigger, NotFound
from loopml.ids import ObjectKind, ObjectRef
from loopml.triggers._fire import now_ms
from loopml.workspace import Workspace, current_workspace

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from loopml.entities import Trigger
    from loopml.lineage import Relation
    from loopml.pipelines import Executor

STEPS = ("check_data", "train", "evaluate", "register", "canary", "promote")
LEASE_TTL_S = 30.0
STATUS_TAG = "loopml.status"


class ChainInterrupted(Exception):
    """The agent is stopping; the chain stays pending and is resumed later."""


def new_owner() -> str:
    """An owner name for leases: host, pid and a random tail."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """True when ``owner`` names a process on this host that no longer runs."""
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


@dataclass(frozen=True)
class ChainResult:
    """Where a chain stands: ``outcome`` None while it is still pending (or held)."""

    chain_id: str
    trigger: str
    outcome: str | None
    events: tuple[TriggerEvent, ...] = ()
    busy: bool = False

    @property
    def completed_steps(self) -> list[str]:
        """Steps with a ``completed`` event, in order."""
        return [
            e.step
            for e in self.events
            if e.kind is TriggerEventKind.STEP and e.status == "completed"
        ]

    def output(self, key: str) -> Any:
        """The newest value a completed step recorded under ``key`` (None if none)."""
        found = None
        for event in self.events:
            if event.kind is TriggerEventKind.STEP and event.status == "completed":
                found = event.detail.get(key, found)
        return found


@dataclass(frozen=True)
class StepOut:
    """What a step made; ``finish`` ends the chain with that outcome after the step."""

    detail: Mapping[str, Any] = field(default_factory=dict)
    finish: str | None = None
    extra: TriggerEventKind | None = None


@dataclass
class ChainContext:
    """What a step sees: the workspace, the rule, the chain so far."""

    ws: Workspace
    trigger: Trigger
    chain_id: str
    fired: TriggerEvent
    outputs: dict[str, Any]
    started: TriggerEvent
    executor: str | Executor | None
    stop: threading.Event
    renew: Callable[[], None]

    @property
    def action(self) -> Mapping[str, Any]:
        """The rule's action settings."""
        return self.trigger.action

    @property
    def model(self) -> str:
        """The model the chain retrains."""
        return self.trigger.model

    def record(
        self,
        kind: TriggerEventKind,
        *,
        step: str = "",
        status: str = "",
        detail: Mapping[str, Any] | None = None,
    ) -> TriggerEvent:
        """Record one event of this chain."""
        return self.ws.store.add_trigger_event(
            TriggerEvent(
                id="",
                trigger=self.trigger.name,
                kind=kind,
                at_ms=0,
                chain_id=self.chain_id,
                step=step,
                status=status,
                detail=dict(detail or {}),
            ),
            actor=self.ws.actor.name,
        )

    def link(self, src: ObjectRef, dst: ObjectRef, relation: Relation) -> None:
        """Record one lineage edge."""
        lineage.record([lineage.edge(src, dst, relation)], store=self.ws.store)

    @property
    def here(self) -> ObjectRef:
        """The firing event, as a lineage object."""
        return ObjectRef(ObjectKind.TRIGGER_EVENT, self.chain_id)

    def wait(self, seconds: float) -> None:
        """Sleep, renewing the lease; ChainInterrupted when the agent stops."""
        self.renew()
        if self.stop.wait(seconds):
            raise ChainInterrupted


class _Heartbeat:
    """Renews the chain's lease every third of its time-to-live while a step runs."""

    def __init__(self, renew: Callable[[], None], ttl_s: float) -> None:
        self._renew = renew
        self._every = max(0.05, ttl_s / 3)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chain-lease", daemon=True)

    def _loop(self) -> None:
        while not self._done.wait(self._every):
            try:
                self._renew()
            except Exception:
                continue

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)


def chain_events(chain_id: str, ws: Workspace) -> list[TriggerEvent]:
    """Every event of a chain, the firing first."""
    return ws.store.list_trigger_events(chain_id=chain_id, limit=None)


def _outcome(events: list[TriggerEvent]) -> str | None:
    for event in events:
        if event.kind is TriggerEventKind.FINISHED:
            return event.status
    return None


def pending_chains(*, workspace: Workspace | None = None) -> list[str]:
    """Ids of chains fired but not finished, oldest first."""
    ws = workspace or current_workspace()
    finished = {e.chain_id for e in ws.store.list_trigger_events(kind=TriggerEventKind.FINISHED)}
    return [
        e.id
        for e in ws.store.list_trigger_events(kind=TriggerEventKind.FIRED)
        if e.id not in finished
    ]


def _take_lease(ws: Workspace, lease: str, owner: str, ttl_s: float) -> bool:
    if ws.store.acquire_lease(lease, owner, ttl_s):
        return True
    held = ws.store.get_lease(lease)
    if held is not None and held.owner != owner and owner_is_dead(held.owner):
        ws.store.release_lease(lease, held.owner)
        return ws.store.acquire_lease(lease, owner, ttl_s)
    return False


def run_chain(
    chain_id: str,
    *,
    workspace: Workspace | None = None,
    owner: str | None = None,
    executor: str | Executor | None = None,
    lease_ttl_s: float = LEASE_TTL_S,
    stop: threading.Event | None = None,
    on_step: Callable[[TriggerEvent], None] | None = None,
) -> ChainResult:
    """Run (or resume) the chain a firing started, up to its end.

    Args:
        chain_id: The id of the ``fired`` event.
        workspace: Where it is recorded (default: the current workspace).
        owner: Lease owner (default: this process).
        executor: Pipeline executor for the train step (``local``, ``dask``..., or an
            Executor the caller keeps open across chains).
        lease_ttl_s: How long the lease lasts without a renewal (a killed agent's chain
            can be taken over after this).
        stop: Set it to stop at the next wait; the chain stays pending.
        on_step: Called with each step event recorded.

    Returns:
        The chain's state: its outcome, or None with ``busy`` when another agent holds it.

    Raises:
        NotFound: No firing has that id.
    """
    from loopml.triggers._steps import STEP_FUNCTIONS

    ws = workspace or current_workspace()
    events = chain_events(chain_id, ws)
    if not events or events[0].kind is not TriggerEventKind.FIRED:
        raise NotFound("trigger chain", chain_id, hint="See `loopml triggers history`.")
    fired = events[0]
    done = _outcome(events)
    if done is not None:
        return ChainResult(chain_id, fired.trigger, done, tuple(events))
    owner = owner or new_owner()
    lease = f"trigger-chain:{chain_id}"
    if not _take_lease(ws, lease, owner, lease_ttl_s):
        return ChainResult(chain_id, fired.trigger, None, tuple(events), busy=True)
    stopper = stop or threading.Event()

    def renew() -> None:
        ws.store.acquire_lease(lease, owner, lease_ttl_s)

    try:
        trigger = ws.store.get_trigger(fired.trigger)
    except NotFound:
        trigger = None
    try:
        if trigger is None:
            _finish(ws, fired, "failed", {"error": f"trigger {fired.trigger!r} was removed"})
            return _result(chain_id, ws)
        with _Heartbeat(renew, lease_ttl_s):
            _steps(ws, trigger, fired, executor, stopper, renew, on_step, STEP_FUNCTIONS)
    except ChainInterrupted:
        pass
    finally:
        ws.store.release_lease(lease, owner)
    return _result(chain_id, ws)


def _result(chain_id: str, ws: Workspace) -> ChainResult:
    events = chain_events(chain_id, ws)
    return ChainResult(chain_id, events[0].trigger, _outcome(events), tuple(events))


def _finish(ws: Workspace, fired: TriggerEvent, outcome: str, detail: Mapping[str, Any]) -> None:
    ws.store.add_trigger_event(
        TriggerEvent(
            id="",
            trigger=fired.trigger,
            kind=TriggerEventKind.FINISHED,
            at_ms=0,
            chain_id=fired.id,
            status=outcome,
            detail=dict(detail),
        ),
        actor=ws.actor.name,
    )


def _steps(
    ws: Workspace,
    trigger: Trigger,
    fired: TriggerEvent,
    executor: str | Executor | None,
    stop: threading.Event,
    renew: Callable[[], None],
    on_step: Callable[[TriggerEvent], None] | None,
    functions: Mapping[str, Callable[[ChainContext], StepOut]],
) -> None:
    events = chain_events(fired.id, ws)
    outputs: dict[str, Any] = {}
    completed: set[str] = set()
    started: dict[str, TriggerEvent] = {}
    for event in events:
        if event.kind is TriggerEventKind.STEP and event.status == "completed":
            completed.add(event.step)
            outputs.update(event.detail)
        elif event.kind is TriggerEventKind.STEP and event.status == "started":
            started[event.step] = event
    for name in STEPS:
        if name in completed:
            continue
        if stop.is_set():
            raise ChainInterrupted
        ctx = ChainContext(
            ws, trigger, fired.id, fired, outputs, started.get(name) or fired, executor, stop, renew
        )
        if name not in started:
            ctx.started = ctx.record(TriggerEventKind.STEP, step=name, status="started")
            if on_step is not None:
                on_step(ctx.started)
        try:
            out = functions[name](ctx)
        except ChainInterrupted:
            raise
        except Exception as exc:
            failed = ctx.record(
                TriggerEventKind.STEP,
                step=name,
                status="failed",
                detail={"error": f"{type(exc).__name__}: {exc}"},
            )
            if on_step is not None:
                on_step(failed)
            _finish(ws, fired, "failed", {"step": name, "error": f"{type(exc).__name__}: {exc}"})
            return
        if out.extra is not None:
            ctx.record(out.extra, step=name, status=out.finish or "", detail=out.detail)
        event = ctx.record(TriggerEventKind.STEP, step=name, status="completed", detail=out.detail)
        if on_step is not None:
            on_step(event)
        outputs.update(out.detail)
        if out.finish is not None:
            _finish(ws, fired, out.finish, out.detail)
            return
    _finish(ws, fired, "registered", outputs)


def need(ctx: ChainContext, key: str) -> Any:
    """An action setting the step cannot do without."""
    if key not in ctx.action:
        raise InvalidTrigger(
            f"trigger {ctx.trigger.name!r}: action.{key} is needed for this step",
            hint="Add it to the rule (see docs/triggers.md).",
        )
    return ctx.action[key]


def elapsed_s(event: TriggerEvent) -> float:
    """Seconds since ``event`` was recorded."""
    return (now_ms() - event.at_ms) / 1000


def sleep_s(seconds: float) -> None:
    """Sleep (kept apart so tests and steps share one clock)."""
    time.sleep(seconds)
