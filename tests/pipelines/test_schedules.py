"""Schedules and the agent: due runs start once, whatever the number of agents."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from loopml.config import Settings
from loopml.entities import PipelineStatus
from loopml.errors import Conflict, InvalidInput
from loopml.pipelines import create_schedule, next_time_ms, run_agent, run_due
from loopml.store import Store

ROOT = Path(__file__).resolve().parents[2]
TARGET = "tests.pipelines.steps:arithmetic"


@hsettings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=4_000_000_000_000))
def test_next_time_is_later_and_on_the_minute(after_ms: int) -> None:
    following = next_time_ms("*/5 * * * *", after_ms)
    assert following > after_ms and following - after_ms <= 5 * 60_000
    moment = dt.datetime.fromtimestamp(following / 1000, tz=dt.UTC)
    assert moment.minute % 5 == 0 and moment.second == 0


def test_create_schedule_checks_everything(store: Store) -> None:
    with pytest.raises(InvalidInput, match="cron"):
        create_schedule(TARGET, "every night", store=store)
    with pytest.raises(InvalidInput, match="module:attribute"):
        create_schedule("nocolon", "0 2 * * *", store=store)
    with pytest.raises(InvalidInput, match="cannot import"):
        create_schedule("no_such_module_xyz:pipe", "0 2 * * *", store=store)
    with pytest.raises(InvalidInput, match="not a pipeline"):
        create_schedule("tests.pipelines.steps:square", "0 2 * * *", store=store)
    with pytest.raises(InvalidInput, match="no parameter"):
        create_schedule(TARGET, "0 2 * * *", params={"m": 1}, store=store)
    made = create_schedule(TARGET, "0 2 * * *", params={"n": 2}, store=store)
    assert made.name == "arithmetic" and store.get_schedule("arithmetic") == made
    with pytest.raises(Conflict):
        create_schedule(TARGET, "0 3 * * *", store=store)


def test_run_due_starts_a_due_schedule_once(settings: Settings, store: Store) -> None:
    made = create_schedule(TARGET, "0 2 * * *", params={"n": 3}, store=store, start_at_ms=1000)
    first = run_due(store=store, settings=settings)
    assert len(first) == 1 and first[0].ok and first[0].run.schedule_id == made.id
    assert first[0].output("summary") == {"rows": 3, "total": 5}
    assert run_due(store=store, settings=settings) == [], "the next due time is tomorrow"
    moved = store.get_schedule("arithmetic")
    assert moved.last_run_id == first[0].id and moved.next_run_at_ms > 1000
    assert store.get_lease(f"schedule:{made.id}") is None


def test_a_held_lease_blocks_the_schedule(settings: Settings, store: Store) -> None:
    made = create_schedule(TARGET, "0 2 * * *", store=store, start_at_ms=1000)
    store.acquire_lease(f"schedule:{made.id}", "someone-else", 60)
    assert run_due(store=store, settings=settings) == []
    assert store.get_schedule("arithmetic").next_run_at_ms == 1000


def test_agent_loop_validates_interval(settings: Settings) -> None:
    with pytest.raises(InvalidInput):
        run_agent(once=True, interval_s=0, settings=settings)
    assert run_agent(once=True, settings=settings) == []


def test_two_agents_one_schedule_give_one_run(settings: Settings, store: Store) -> None:
    create_schedule(TARGET, "0 2 * * *", params={"n": 2}, store=store, start_at_ms=1000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env |= {
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "LOOPML_HOME": str(settings.home),
    }
    agents = [
        subprocess.Popen(
            [sys.executable, "-m", "loopml", "agent", "--once", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [agent.communicate(timeout=120) for agent in agents]
    assert [agent.returncode for agent in agents] == [0, 0], outputs
    runs = store.list_pipeline_runs()
    assert len(runs) == 1 and runs[0].status is PipelineStatus.COMPLETED
    started = [o for o, _ in outputs if runs[0].id in o]
    assert len(started) == 1, outputs
