"""The one scheduling loop: decides what is ready, serves cache hits, submits the rest to
an executor, retries with backoff, and records every transition in the store."""

from __future__ import annotations

import dataclasses
import queue
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cloudpickle

from loopml import lineage
from loopml.entities import PipelineRun, PipelineStatus, StepRun, StepStatus
from loopml.ids import ObjectRef
from loopml.lineage import ObjectKind, Relation
from loopml.pipelines import _materialisers as mats
from loopml.pipelines._hashing import cache_key, code_digest, param_text
from loopml.pipelines._worker import Task, TaskResult, fn_bytes

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from loopml.artifacts import ArtifactStore
    from loopml.entities import LineageEdge
    from loopml.pipelines._executors import Executor
    from loopml.pipelines._graph import Graph, Node
    from loopml.store import Store
    from loopml.workspace import Workspace

LEASE_TTL_S = 30.0


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


@dataclass
class RunContext:
    """Everything the loop needs besides the graph and the records."""

    store: Store
    artifacts: ArtifactStore
    executor: Executor
    workspace: Workspace
    use_cache: bool = True
    price_cpu_hour: float = 0.05
    price_gpu_hour: float = 2.5
    on_event: Callable[[StepRun], None] | None = None
    owner: str = ""
    leases: list[str] = field(default_factory=list)


def _output(step: StepRun, name: str) -> tuple[str, str]:
    for out in step.outputs:
        if out.name == name:
            return out.digest, out.materialiser
    raise RuntimeError(f"step {step.name!r} recorded no output {name!r}")  # pragma: no cover


class _Loop:
    def __init__(
        self, graph: Graph, run: PipelineRun, steps: dict[str, StepRun], ctx: RunContext
    ) -> None:
        self.graph, self.run, self.steps, self.ctx = graph, run, steps, ctx
        self.nodes = {n.name: n for n in graph.nodes}
        self.order = graph.order()
        self.results: queue.Queue[tuple[str, int, TaskResult]] = queue.Queue()
        self.running: dict[str, tuple[object, int, float | None, float]] = {}
        self.retry_at: dict[str, float] = {}
        self.cpu_used = 0.0
        self.code: dict[int, str] = {}
        self.shipped: dict[int, bytes] = {}
        extra = mats.registered()
        self.extra_mats = bytes(cloudpickle.dumps(extra)) if extra else b""
        self.renewed = time.monotonic()
        self.prepared: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {}
        self.below: dict[str, set[str]] = {}  # descendants, computed on first failure

    # records ---------------------------------------------------------------------------
    def save(
        self, step: StepRun, relation: Relation | None = None, runs: Sequence[str] = ()
    ) -> None:
        """Record ``step``; with ``relation``, also its input and output lineage edges.

        ``runs`` are tracking runs the attempt started: edges step_run -> run.
        """
        edges: list[LineageEdge] = []
        ref = ObjectRef(ObjectKind.STEP_RUN, step.id)
        if relation is not None:
            edges = [
                lineage.edge(ObjectRef(ObjectKind.ARTIFACT, d), ref, Relation.INPUT)
                for d in step.inputs.values()
            ]
            edges += [
                lineage.edge(ref, ObjectRef(ObjectKind.ARTIFACT, o.digest), relation)
                for o in step.outputs
            ]
        edges += [
            lineage.edge(ref, ObjectRef(ObjectKind.RUN, run_id), Relation.TRACKED)
            for run_id in runs
        ]
        self.steps[step.name] = self.ctx.store.save_step_run(step, edges=edges)
        if self.ctx.on_event is not None:
            self.ctx.on_event(step)

    # readiness -------------------------------------------------------------------------
    def _ready(self, name: str) -> bool:
        step = self.steps[name]
        if step.status is not StepStatus.PENDING or name in self.running:
            return False
        if name in self.retry_at:
            if time.monotonic() < self.retry_at[name]:
                return False
            del self.retry_at[name]
        return all(self.steps[u].status.is_done for u in self.nodes[name].upstream)

    def _prepare(self, node: Node) -> tuple[str, dict[str, tuple[str, str]]]:
        inputs = {
            edge.param: _output(self.steps[edge.source], edge.output_name) for edge in node.inputs
        }
        key_of_step = id(node.step)
        if key_of_step not in self.code:
            self.code[key_of_step] = code_digest(node.step.fn)
        key = cache_key(node, self.code[key_of_step], {p: d for p, (d, _) in inputs.items()})
        return key, inputs

    def _try_cache(self, node: Node, key: str, inputs: dict[str, tuple[str, str]]) -> bool:
        if not (self.ctx.use_cache and node.step.cache):
            return False
        hit = self.ctx.store.find_cached_step(key)
        if hit is None or not all(self.ctx.artifacts.exists(o.digest) for o in hit.outputs):
            return False
        stamp = now_ms()
        step = dataclasses.replace(
            self.steps[node.name],
            status=StepStatus.CACHED,
            cache_key=key,
            cache_hit=True,
            cached_from=hit.id,
            run_id=hit.run_id,
            outputs=hit.outputs,
            inputs={p: d for p, (d, _) in inputs.items()},
            params={k: param_text(v) for k, v in node.params.items()},
            started_at_ms=stamp,
            ended_at_ms=stamp,
            wall_s=0.0,
            cpu_s=0.0,
            gpu_s=0.0,
            cost=0.0,
            error=None,
            log_digest=None,
        )
        self.save(step, Relation.REUSED)
        return True

    def _submit(self, node: Node, key: str, inputs: dict[str, tuple[str, str]]) -> None:
        need = self._cpu(node)
        previous = self.steps[node.name]
        attempt = previous.attempts + 1
        if id(node.step) not in self.shipped:
            self.shipped[id(node.step)] = fn_bytes(node.step.fn)[0]
        task = Task(
            step=node.name,
            attempt=attempt,
            fn=self.shipped[id(node.step)],
            inputs=tuple((p, d, m) for p, (d, m) in inputs.items()),
            params=bytes(cloudpickle.dumps(dict(node.params))),
            n_outputs=node.n_outputs,
            workspace=self.ctx.workspace,
            timeout=node.step.timeout,
            materialisers=self.extra_mats,
            step_run_id=previous.id,
            pipeline_run_id=self.run.id,
        )
        step = dataclasses.replace(
            previous,
            status=StepStatus.RUNNING,
            attempts=attempt,
            cache_key=key,
            cache_hit=False,
            cached_from=None,
            inputs={p: d for p, (d, _) in inputs.items()},
            params={k: param_text(v) for k, v in node.params.items()},
            started_at_ms=now_ms(),
            ended_at_ms=None,
        )
        self.save(step)
        name = node.name
        handle = self.ctx.executor.submit(
            task,
            node.step.resource_map,
            lambda result: self.results.put((name, attempt, result)),
        )
        timeout = node.step.timeout
        deadline = None if timeout is None else time.monotonic() + timeout + 5.0
        self.running[name] = (handle, attempt, deadline, need)
        self.cpu_used += need

    def _cpu(self, node: Node) -> float:
        want = node.step.resource_map.get("cpu", 1.0) or 1.0
        capacity = self.ctx.executor.capacity
        return min(want, capacity) if capacity is not None else want

    def _full(self, node: Node) -> bool:
        capacity = self.ctx.executor.capacity
        return (
            capacity is not None
            and bool(self.running)
            and self.cpu_used + self._cpu(node) > capacity
        )

    def schedule(self) -> None:
        progressed = True
        while progressed:
            progressed = False
            for name in self.order:
                if not self._ready(name):
                    continue
                node = self.nodes[name]
                # Keys and cache lookups are computed once per attempt, not on every pass:
                # a wide fan-out waiting for workers must not query the store each event.
                if name not in self.prepared:
                    key, inputs = self._prepare(node)
                    if self._try_cache(node, key, inputs):
                        progressed = True
                        continue
                    self.prepared[name] = (key, inputs)
                if self._full(node):
                    continue
                key, inputs = self.prepared.pop(name)
                self._submit(node, key, inputs)

    # results ---------------------------------------------------------------------------
    def finish(self, name: str, result: TaskResult) -> None:
        node = self.nodes[name]
        runs: list[str] = list(result.extra.get("run_ids", ()))
        step = self.steps[name]
        if runs:
            step = dataclasses.replace(step, run_id=runs[0])
        if result.ok:
            gpu_s = result.wall_s * node.step.resource_map.get("gpu", 0.0)
            cost = (result.cpu_s * self.ctx.price_cpu_hour + gpu_s * self.ctx.price_gpu_hour) / 3600
            done = dataclasses.replace(
                step,
                status=StepStatus.COMPLETED,
                outputs=result.outputs,
                started_at_ms=result.started_at_ms or step.started_at_ms,
                ended_at_ms=result.ended_at_ms or now_ms(),
                wall_s=result.wall_s,
                cpu_s=result.cpu_s,
                gpu_s=gpu_s or None,
                peak_memory_bytes=result.peak_memory_bytes or None,
                cost=cost,
                worker=result.worker or None,
                error=None,
                log_digest=result.log_digest,
            )
            self.save(done, Relation.PRODUCED, runs)
            return
        failed = dataclasses.replace(
            step,
            ended_at_ms=now_ms(),
            wall_s=result.wall_s or None,
            worker=result.worker or step.worker,
            error=result.error,
            log_digest=result.log_digest or step.log_digest,
        )
        if step.attempts <= node.step.retries:
            delay = node.step.retry_delay * 2 ** (step.attempts - 1)
            self.retry_at[name] = time.monotonic() + delay
            self.save(dataclasses.replace(failed, status=StepStatus.PENDING), runs=runs)
            return
        self.save(dataclasses.replace(failed, status=StepStatus.FAILED), runs=runs)
        if name not in self.below:
            self.below[name] = self.graph.descendants(name)
        for other in self.order:
            if other in self.below[name] and (self.steps[other].status is StepStatus.PENDING):
                self.retry_at.pop(other, None)
                self.save(
                    dataclasses.replace(
                        self.steps[other],
                        status=StepStatus.SKIPPED,
                        error=f"not run: upstream step {name!r} failed",
                    )
                )

    def _expire(self) -> None:
        clock = time.monotonic()
        for name, (handle, _attempt, deadline, need) in list(self.running.items()):
            if deadline is not None and clock > deadline:
                self.ctx.executor.cancel(handle)
                del self.running[name]
                self.cpu_used -= need
                timeout = self.nodes[name].step.timeout
                self.finish(
                    name,
                    TaskResult(ok=False, error=f"StepTimeout: no result after {timeout}s"),
                )

    def _renew(self) -> None:
        if time.monotonic() - self.renewed < LEASE_TTL_S / 3:
            return
        for lease in self.ctx.leases:
            self.ctx.store.acquire_lease(lease, self.ctx.owner, LEASE_TTL_S)
        self.renewed = time.monotonic()

    def _wait_s(self) -> float:
        clock = time.monotonic()
        moments = [at for at in self.retry_at.values()]
        moments += [d for _, _, d, _ in self.running.values() if d is not None]
        if not moments:
            return 1.0
        return max(0.005, min(1.0, min(moments) - clock))

    def loop(self) -> None:
        while True:
            self.schedule()
            if not self.running and not self.retry_at:
                return
            self._renew()
            try:
                name, attempt, result = self.results.get(timeout=self._wait_s())
            except queue.Empty:
                self._expire()
                continue
            entry = self.running.get(name)
            if entry is None or entry[1] != attempt:
                continue  # a late result of an attempt already given up on
            del self.running[name]
            self.cpu_used -= entry[3]
            self.finish(name, result)
            self._expire()

    def abandon(self, reason: str) -> None:
        for name in list(self.running):
            self.ctx.executor.cancel(self.running.pop(name)[0])
            step = self.steps[name]
            self.save(dataclasses.replace(step, status=StepStatus.FAILED, error=reason))


def execute(
    graph: Graph, run: PipelineRun, steps: dict[str, StepRun], ctx: RunContext
) -> tuple[PipelineRun, dict[str, StepRun]]:
    """Run every step of ``graph`` not yet done in ``steps``; return the final records."""
    loop = _Loop(graph, run, steps, ctx)
    try:
        loop.loop()
    except BaseException as exc:
        loop.abandon(f"interrupted: {type(exc).__name__}")
        failed = dataclasses.replace(
            run, status=PipelineStatus.FAILED, ended_at_ms=now_ms(), error=f"interrupted: {exc!r}"
        )
        ctx.store.save_pipeline_run(failed)
        raise
    final = loop.steps
    bad = [s.name for s in final.values() if s.status is StepStatus.FAILED]
    cost = sum(s.cost or 0.0 for s in final.values())
    all_done = all(s.status.is_done for s in final.values())
    status = PipelineStatus.COMPLETED if all_done else PipelineStatus.FAILED
    error = None if all_done else f"failed steps: {', '.join(bad) or 'none'}"
    run = dataclasses.replace(run, status=status, ended_at_ms=now_ms(), cost=cost, error=error)
    ctx.store.save_pipeline_run(run)
    return run, final
