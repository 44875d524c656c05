"""A step that starts a tracking run is linked to it: step_runs.run_id and a lineage edge."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.config import Settings, load_settings
from loopml.entities import RunStatus, StepStatus
from loopml.ids import ObjectRef
from loopml.pipelines import run_pipeline
from loopml.store import Store, open_store
from loopml.tracking import TrackingClient, capture_runs, start_run
from tests.pipelines import steps as s


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Settings, Store]]:
    """The working directory's own home: worker processes open the same one."""
    settings = load_settings(cwd=tmp_path, env={})
    opened = open_store(settings)
    try:
        yield settings, opened
    finally:
        opened.close()


def test_run_started_in_a_step_is_linked(home: tuple[Settings, Store]) -> None:
    settings, store = home
    result = run_pipeline(s.with_tracking, {"n": 3}, store=store, settings=settings)
    step = result.step("tracked")
    assert step.run_id is not None
    run = store.get_run(step.run_id)
    assert run.name == "inside-step" and run.status is RunStatus.FINISHED
    assert run.tags["loopml.step_run_id"] == step.id
    assert run.tags["loopml.pipeline_run_id"] == result.id
    assert run.tags["loopml.step"] == "tracked"
    down = store.downstream(ObjectRef("step_run", step.id), depth=1)
    assert {(str(n.edge.dst), n.edge.relation) for n in down if n.edge.dst.kind == "run"} == {
        (f"run:{run.id}", "tracked")
    }
    cached = run_pipeline(s.with_tracking, {"n": 3}, store=store, settings=settings)
    assert cached.step("tracked").status is StepStatus.CACHED
    assert cached.step("tracked").run_id == run.id


def test_failed_step_keeps_its_run(home: tuple[Settings, Store]) -> None:
    settings, store = home
    result = run_pipeline(
        s.with_tracking,
        {"n": 4, "fail": True},
        store=store,
        settings=settings,
        raise_on_failure=False,
    )
    failed = result.step("tracked_then_fails")
    assert failed.status is StepStatus.FAILED and failed.run_id is not None
    run = store.get_run(failed.run_id)
    assert run.name == "doomed" and run.tags["loopml.step_run_id"] == failed.id


def test_capture_collects_top_level_runs_and_tags(tmp_path: Path) -> None:
    from loopml.store.sql import SqlStore

    db = SqlStore(f"sqlite:///{tmp_path / 'c.db'}")
    client = TrackingClient(db, capture_environment=False)
    try:
        with capture_runs({"origin": "test"}) as captured:
            with start_run("a", client=client, tags={"origin": "own"}) as a:
                with start_run("a.child", client=client):
                    pass
            with start_run("b", client=client) as b:
                pass
        with start_run("outside", client=client):
            pass
        assert captured.run_ids == [a.id, b.id]
        assert db.get_run(a.id).tags["origin"] == "own"
        assert db.get_run(b.id).tags["origin"] == "test"
    finally:
        client.close()
        db.close()
