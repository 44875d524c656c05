"""Store checks for pipeline runs, step runs, schedules and leases."""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

import pytest

from loopml.entities import (
    LineageEdge,
    PipelineRun,
    PipelineStatus,
    Schedule,
    StepOutput,
    StepRun,
    StepStatus,
)
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.ids import ObjectRef, new_id

if TYPE_CHECKING:
    from loopml.store import Store


def _pipeline_run(name: str = "training", **changes: object) -> tuple[PipelineRun, list[StepRun]]:
    run = PipelineRun(
        id=new_id(),
        pipeline=name,
        status=PipelineStatus.RUNNING,
        created_at_ms=int(time.time() * 1000),
        target="pipe:training",
        params={"n": 3, "label": "x"},
        graph={"steps": ["a", "b"]},
    )
    run = dataclasses.replace(run, **changes)  # type: ignore[arg-type]
    steps = [
        StepRun(id=new_id(), pipeline_run_id=run.id, name="a"),
        StepRun(id=new_id(), pipeline_run_id=run.id, name="b", upstream=("a",)),
    ]
    return run, steps


class PipelineStoreConformance:
    """Checks for :class:`loopml.store.PipelineStore` and :class:`loopml.store.LeaseStore`."""

    def test_pipeline_run_round_trip(self, store: Store) -> None:
        run, steps = _pipeline_run()
        store.create_pipeline_run(run, steps)
        assert store.get_pipeline_run(run.id) == run
        listed = store.list_step_runs(run.id)
        assert [s.name for s in listed] == ["a", "b"] and listed[1].upstream == ("a",)
        assert all(s.status is StepStatus.PENDING for s in listed)
        with pytest.raises(Conflict):
            store.create_pipeline_run(run, [])

    def test_step_run_save_and_cache_lookup(self, store: Store) -> None:
        run, steps = _pipeline_run()
        store.create_pipeline_run(run, steps)
        output = StepOutput("output", "ab" * 32, "json", "builtins.dict", 12)
        done = dataclasses.replace(
            steps[0],
            status=StepStatus.COMPLETED,
            cache_key="k" * 64,
            attempts=2,
            started_at_ms=1,
            ended_at_ms=5,
            wall_s=0.5,
            cpu_s=0.25,
            peak_memory_bytes=1 << 20,
            cost=0.001,
            inputs={"x": "cd" * 32},
            outputs=(output,),
            params={"n": "3"},
            worker="host:1",
            log_digest="ef" * 32,
        )
        store.save_step_run(done)
        assert store.list_step_runs(run.id)[0] == done
        assert store.find_cached_step("k" * 64) == done
        assert store.find_cached_step("z" * 64) is None
        # garbage collection must keep a step's log: the record names its digest
        assert "ef" * 32 in store.artifact_references().objects
        hit = dataclasses.replace(steps[1], status=StepStatus.CACHED, cache_key="q" * 64)
        store.save_step_run(hit)
        assert store.find_cached_step("q" * 64) is None, "cache hits are not cache sources"

    def test_pipeline_run_updates_and_listing(self, store: Store) -> None:
        first, steps = _pipeline_run("one")
        store.create_pipeline_run(first, steps)
        second, steps = _pipeline_run("two")
        store.create_pipeline_run(second, steps)
        failed = dataclasses.replace(
            first, status=PipelineStatus.FAILED, error="boom", ended_at_ms=9, cost=0.5
        )
        store.save_pipeline_run(failed)
        assert [r.id for r in store.list_pipeline_runs()] == [second.id, first.id]
        assert store.list_pipeline_runs(status=PipelineStatus.FAILED) == [failed]
        assert [r.id for r in store.list_pipeline_runs(pipeline="two")] == [second.id]
        assert store.list_pipeline_runs(limit=1, offset=1) == [failed]

    def test_missing_pipeline_objects(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.get_pipeline_run("0" * 32)
        with pytest.raises(NotFound):
            store.list_step_runs("0" * 32)
        run, steps = _pipeline_run()
        with pytest.raises(NotFound):
            store.save_pipeline_run(run)
        with pytest.raises(NotFound):
            store.save_step_run(steps[0])
        with pytest.raises(InvalidInput):
            store.create_pipeline_run(run, [steps[0], steps[0]])

    def test_schedules_claim_once(self, store: Store) -> None:
        schedule = Schedule(
            id=new_id(),
            name="nightly",
            target="pipe:training",
            cron="0 2 * * *",
            next_run_at_ms=1000,
            created_at_ms=1,
            params={"n": 1},
        )
        store.create_schedule(schedule)
        with pytest.raises(Conflict):
            store.create_schedule(dataclasses.replace(schedule, id=new_id()))
        assert store.get_schedule("nightly") == schedule
        assert store.list_schedules() == [schedule]
        assert store.claim_schedule(schedule.id, due_at_ms=1000, next_run_at_ms=2000, run_id="r1")
        assert not store.claim_schedule(
            schedule.id, due_at_ms=1000, next_run_at_ms=2000, run_id="r2"
        )
        claimed = store.get_schedule("nightly")
        assert claimed.next_run_at_ms == 2000 and claimed.last_run_id == "r1"
        changed = store.update_schedule(
            "nightly", cron="0 3 * * *", params={"n": 2}, enabled=False, next_run_at_ms=3000
        )
        assert (changed.cron, dict(changed.params), changed.enabled) == (
            "0 3 * * *",
            {"n": 2},
            False,
        )
        assert changed.next_run_at_ms == 3000 and changed.last_run_id == "r1"
        assert store.update_schedule("nightly") == changed  # nothing given: nothing changes
        assert store.update_schedule("nightly", enabled=True).enabled
        with pytest.raises(NotFound):
            store.update_schedule("absent", enabled=True)
        store.delete_schedule("nightly")
        with pytest.raises(NotFound):
            store.get_schedule("nightly")
        with pytest.raises(NotFound):
            store.delete_schedule("nightly")

    def test_leases_exclude_other_owners_until_expiry(self, store: Store) -> None:
        assert store.acquire_lease("schedule:x", "agent-1", 30)
        assert store.acquire_lease("schedule:x", "agent-1", 30), "the holder may renew"
        assert not store.acquire_lease("schedule:x", "agent-2", 30)
        lease = store.get_lease("schedule:x")
        assert lease is not None and lease.owner == "agent-1"
        store.release_lease("schedule:x", "agent-2")
        assert not store.acquire_lease("schedule:x", "agent-2", 30)
        store.release_lease("schedule:x", "agent-1")
        assert store.get_lease("schedule:x") is None
        assert store.acquire_lease("schedule:x", "agent-2", 0.001)
        time.sleep(0.01)
        assert store.acquire_lease("schedule:x", "agent-3", 30), "an expired lease is free"
        with pytest.raises(InvalidInput):
            store.acquire_lease("", "agent", 1)

    def test_step_run_saved_with_lineage_atomically(self, store: Store) -> None:
        run, steps = _pipeline_run()
        store.create_pipeline_run(run, steps)
        ref = ObjectRef("step_run", steps[0].id)
        edge = LineageEdge(ref, ObjectRef("artifact", "ef" * 32), "produced")
        store.save_step_run(steps[0], edges=[edge, edge])
        assert [n.edge for n in store.downstream(ref)] == [edge]
        bad = LineageEdge(ref, ObjectRef("artifact", "aa" * 32), "")
        changed = dataclasses.replace(steps[0], status=StepStatus.COMPLETED)
        with pytest.raises(InvalidInput):
            store.save_step_run(changed, edges=[bad])
        assert store.list_step_runs(run.id)[0].status is StepStatus.PENDING
