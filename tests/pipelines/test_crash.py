"""A runner killed with SIGKILL leaves a run that `resume` finishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from loopml.config import Settings
from loopml.entities import PipelineStatus, StepStatus
from loopml.pipelines import resume
from loopml.store import Store
from tests.pipelines import steps as s

ROOT = Path(__file__).resolve().parents[2]

RUNNER = """
import sys
from loopml.config import load_settings
from loopml.pipelines import run_pipeline
from tests.pipelines.steps import killable

settings = load_settings(home=sys.argv[1])
run_pipeline(killable, {"flag": sys.argv[2]}, settings=settings, run_id=sys.argv[3])
"""


def test_sigkill_then_resume(settings: Settings, store: Store, tmp_path: Path) -> None:
    flag = tmp_path / "slow"
    flag.write_text("")
    run_id = "0" * 31 + "1"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(settings.home), str(flag), run_id],
        env=env,
        start_new_session=True,  # runner, its workers and forkserver share one group
    )
    try:
        started = Path(str(flag) + ".started")
        deadline = time.monotonic() + 60
        while not started.exists():
            assert proc.poll() is None, "the runner ended before it could be killed"
            assert time.monotonic() < deadline, "the slow step never started"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    crashed = store.get_pipeline_run(run_id)
    assert crashed.status is PipelineStatus.RUNNING, "nobody could record the kill"
    before = {st.name: st for st in store.list_step_runs(run_id)}
    assert before["slow_unless"].status is StepStatus.COMPLETED
    assert before["slow"].status is StepStatus.RUNNING
    flag.unlink()
    result = resume(run_id, store=store, settings=settings)
    assert result.ok and result.id == run_id
    assert result.step("slow_unless") == before["slow_unless"], "finished work is kept"
    assert result.step("slow").status is StepStatus.COMPLETED
    assert result.output("slow") == 100
    assert s.killable.target == store.get_pipeline_run(run_id).target
