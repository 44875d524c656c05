"""Step logs: each attempt's stdout, stderr and logging, bounded, stored by digest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from loopml.config import Settings
from loopml.entities import StepStatus
from loopml.errors import InvalidInput, NotFound
from loopml.pipelines import read_step_log, run_pipeline
from loopml.pipelines._capture import LOG_LIMIT_BYTES, LogBuffer, capture_output
from loopml.store import Store
from loopml.workspace import Workspace
from tests.fixtures.cli import Cli
from tests.pipelines import steps as s

ROOT = Path(__file__).resolve().parents[2]
ENV = {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}


def test_log_buffer_keeps_the_newest_bytes_and_says_what_it_dropped() -> None:
    buffer = LogBuffer(limit=10)
    buffer.write("0123456789")
    assert buffer.getvalue() == b"0123456789"
    buffer.write("abc")
    text = buffer.getvalue().decode()
    assert text.endswith("\n3456789abc") and "3 earlier bytes dropped" in text
    buffer.write("é" * 20)  # 40 bytes: one write larger than the limit
    assert buffer.getvalue().decode().endswith("é" * 5)


def test_capture_restores_the_streams_and_the_root_logger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import logging
    import sys

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    monkeypatch.setattr(sys, "stdout", None)  # a worker started without a stdout
    with capture_output() as buffer:
        print("to nowhere but the log")
        logging.getLogger("tests.capture").info("info is kept")
        logging.getLogger("distributed.worker").info("the Dask worker's own line")
    assert sys.stdout is None and root.level == level and root.handlers == handlers
    text = buffer.getvalue().decode()
    assert text.startswith("to nowhere but the log\n")
    assert "INFO tests.capture: info is kept" in text and "Dask worker" not in text


def test_a_steps_print_stderr_and_logging_are_saved_in_order(
    settings: Settings, store: Store
) -> None:
    result = run_pipeline(s.talking, {"n": 4}, store=store, settings=settings)
    with Workspace(settings, store=store) as workspace:
        log = read_step_log(result.id, "chatty", workspace=workspace)
        assert log is not None
        lines = log.splitlines()
        assert lines[0] == "chatty starts with n=4"
        assert lines[1] == "a warning on stderr"
        assert lines[2].endswith("INFO tests.chatty: logged at info: 8")
        assert "debug is below" not in log
        digest = result.step("chatty").log_digest
        assert digest is not None and workspace.artifacts.get(digest).decode() == log
        # a cache hit ran nothing, so it has no log of its own
        again = run_pipeline(s.talking, {"n": 4}, store=store, settings=settings)
        assert again.step("chatty").status is StepStatus.CACHED
        assert read_step_log(again.id, "chatty", workspace=workspace) is None
        with pytest.raises(InvalidInput, match="no step 'nope'"):
            read_step_log(result.id, "nope", workspace=workspace)
        with pytest.raises(NotFound):
            read_step_log("f" * 32, "chatty", workspace=workspace)


def test_a_huge_log_keeps_its_last_mebibyte_and_a_failure_keeps_its_traceback(
    settings: Settings, store: Store
) -> None:
    params = {"n": 1, "loud_bytes": 3 * LOG_LIMIT_BYTES // 2, "fail": True}
    result = run_pipeline(s.talking, params, store=store, settings=settings, raise_on_failure=False)
    assert not result.ok
    with Workspace(settings, store=store) as workspace:
        log = read_step_log(result.id, "loud", workspace=workspace)
        assert log is not None
        head, _, body = log.partition("\n")
        assert head.startswith("[loopml: output truncated:") and "earlier bytes dropped" in head
        assert len(body.encode()) <= LOG_LIMIT_BYTES
        last = result.output("loud") - 1
        assert body.rstrip("\n").endswith(f"line {last:08d} " + "x" * 50)
        assert "line 00000000 " not in body
        failed = read_step_log(result.id, "noisy_failure", workspace=workspace)
        assert failed is not None
        assert failed.startswith("about to fail on 2\n")
        assert "attempt 1 of step 'noisy_failure' failed" in failed
        assert "ValueError: noisy failure on 2" in failed


def test_pipeline_show_logs_prints_a_steps_output(cli: Cli) -> None:
    ran = cli("pipeline", "run", "tests.pipelines.steps:talking", "-p", "n=5", env=ENV)
    assert ran.returncode == 0, ran.stderr
    assert "chatty starts with n=5" in ran.stdout  # the worker's own stdout still gets it
    run_id = json.loads(cli("pipeline", "list", "--json", env=ENV).stdout)[0]["id"]
    shown = cli("pipeline", "show", run_id, "--logs", "chatty", env=ENV)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("chatty starts with n=5\na warning on stderr\n")
    assert "logged at info: 10" in shown.stdout
    missing = cli("pipeline", "show", run_id, "--logs", "nope", env=ENV)
    assert missing.returncode == 2 and "no step 'nope'" in missing.stderr
    assert "chatty" in missing.stderr  # the hint lists the run's steps


def test_pipeline_run_json_stays_json_when_steps_print(cli: Cli) -> None:
    ran = cli("pipeline", "run", "tests.pipelines.steps:talking", "-p", "n=6", "--json", env=ENV)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["status"] == "COMPLETED"  # one document, nothing else
    assert "chatty starts with n=6" in ran.stderr  # what the steps print goes to stderr
