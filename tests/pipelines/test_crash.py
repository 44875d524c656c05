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


SCRIPT = """
import sys
import loopml


class Box:
    def __init__(self, value):
        self.value = value


@loopml.step
def make(n: int) -> Box:
    return Box(n)


@loopml.step
def unbox(box: Box) -> int:
    return box.value * 2


@loopml.pipeline
def script_pipe(n: int = 4) -> None:
    unbox(make(n))


# No `if __name__ == "__main__":` guard: workers must not re-run this file.
result = script_pipe.run({"n": 4}, settings=loopml.load_settings(home=sys.argv[1]))
print("RESULT", result.output("unbox"), result.output("make").value)
"""


def test_script_without_main_guard_runs(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "home")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("RESULT 8 4") == 1, done.stdout
