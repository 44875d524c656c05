"""Running on the local executor: outputs, records, cache, parallelism, retries, resume."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loopml
from loopml.config import Settings
from loopml.entities import PipelineStatus, StepStatus
from loopml.errors import Conflict, InvalidPipeline, PipelineFailed
from loopml.ids import ObjectRef
from loopml.pipelines import Materialiser, register_materialiser, resume, run_pipeline
from loopml.store import Store
from tests.pipelines import steps as s


def _statuses(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {st.name: st.status.value for st in result.steps}


def test_outputs_records_lineage_and_cost(settings: Settings, store: Store) -> None:
    result = run_pipeline(s.arithmetic, {"n": 4}, store=store, settings=settings)
    assert result.ok and result.run.status is PipelineStatus.COMPLETED
    assert result.output("summary") == {"rows": 4, "total": 14}
    pd.testing.assert_frame_equal(
        result.output("frame"), pd.DataFrame({"value": np.arange(4), "label": "x"})
    )
    assert result.step("frame").outputs[0].materialiser == "pandas.parquet"
    assert result.step("square").outputs[0].materialiser == "numpy.npy"
    assert result.step("summary").outputs[0].materialiser == "json"
    for step in result.steps:
        assert step.status is StepStatus.COMPLETED and step.attempts == 1
        assert step.wall_s is not None and step.cpu_s is not None and step.cost is not None
        assert step.peak_memory_bytes and step.peak_memory_bytes > 1 << 20
        assert step.cache_key and len(step.cache_key) == 64 and step.run_id is None
    assert result.run.cost == pytest.approx(sum(st.cost or 0 for st in result.steps))
    recorded = store.get_pipeline_run(result.id)
    assert recorded == result.run and recorded.params == {"n": 4, "label": "x"}
    summary = result.step("summary")
    up = {str(n.edge.src) for n in store.upstream(ObjectRef("step_run", summary.id), depth=1)}
    assert up == {f"artifact:{d}" for d in summary.inputs.values()} | {f"pipeline_run:{result.id}"}
    first = result.step("numbers")
    down = store.downstream(ObjectRef("step_run", first.id), depth=4)
    assert ObjectRef("step_run", summary.id) in {n.edge.dst for n in down}


def test_cache_hits_and_targeted_invalidation(settings: Settings, store: Store) -> None:
    first = run_pipeline(s.arithmetic, {"n": 4}, store=store, settings=settings)
    again = run_pipeline(s.arithmetic, {"n": 4}, store=store, settings=settings)
    assert set(_statuses(again).values()) == {"CACHED"}
    for old, new in zip(first.steps, again.steps, strict=True):
        assert new.cache_hit and new.cached_from == old.id and new.outputs == old.outputs
    changed = run_pipeline(s.arithmetic, {"n": 4, "label": "y"}, store=store, settings=settings)
    assert _statuses(changed) == {
        "numbers": "CACHED",
        "frame": "COMPLETED",
        "square": "CACHED",
        "summary": "COMPLETED",
    }
    # summary's inputs changed digest (the label column), so it ran; its value did not.
    assert changed.output("summary") == first.output("summary")
    uncached = run_pipeline(s.arithmetic, {"n": 4}, cache=False, store=store, settings=settings)
    assert set(_statuses(uncached).values()) == {"COMPLETED"}


def test_changing_a_steps_code_reruns_it_and_its_dependents(
    settings: Settings, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "codechange_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    source = textwrap.dedent(
        """
        import loopml

        def helper(x):
            return x + 1

        @loopml.step
        def base() -> int:
            return 1

        @loopml.step
        def middle(x: int) -> int:
            return helper(x)

        @loopml.step
        def side(x: int) -> int:
            return x * 100

        @loopml.step
        def last(x: int) -> int:
            return x * 2

        @loopml.pipeline
        def pipe() -> None:
            b = base()
            last(middle(b))
            side(b)
        """
    )
    (package / "flow.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("codechange_pkg.flow")
    try:
        first = run_pipeline(module.pipe, store=store, settings=settings)
        assert first.output("last") == 4
        (package / "flow.py").write_text(source.replace("return x + 1", "return x + 2"))
        module = importlib.reload(module)
        second = run_pipeline(module.pipe, store=store, settings=settings)
        assert _statuses(second) == {
            "base": "CACHED",
            "middle": "COMPLETED",
            "last": "COMPLETED",
            "side": "CACHED",
        }
        assert second.output("last") == 6
    finally:
        sys.modules.pop("codechange_pkg.flow", None)
        sys.modules.pop("codechange_pkg", None)


def test_independent_steps_run_in_parallel(settings: Settings, store: Store) -> None:
    result = run_pipeline(s.napping, {"seconds": 1.0}, store=store, settings=settings)
    a, b = result.step("nap"), result.step("nap_2")
    assert a.started_at_ms and a.ended_at_ms and b.started_at_ms and b.ended_at_ms
    # Both one-second naps overlap: run one after the other they would span 2 s or more.
    span_s = (max(a.ended_at_ms, b.ended_at_ms) - min(a.started_at_ms, b.started_at_ms)) / 1000
    assert span_s < 2.0
    assert max(a.started_at_ms, b.started_at_ms) < min(a.ended_at_ms, b.ended_at_ms)
    assert result.output("pair") == ["a", "b"]


def test_retries_then_success(settings: Settings, store: Store, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    result = run_pipeline(
        s.retrying, {"counter": str(counter), "fail_times": 2}, store=store, settings=settings
    )
    step = result.step("flaky")
    assert step.status is StepStatus.COMPLETED and step.attempts == 3
    assert result.output("flaky") == 3


def test_retries_exhausted_fail_with_traceback(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    counter = tmp_path / "count"
    with pytest.raises(PipelineFailed) as info:
        run_pipeline(
            s.retrying, {"counter": str(counter), "fail_times": 5}, store=store, settings=settings
        )
    assert info.value.failed == ["flaky"] and info.value.exit_code == 1
    step = store.list_step_runs(info.value.run_id)[0]
    assert step.status is StepStatus.FAILED and step.attempts == 3
    assert "RuntimeError: attempt 3 fails on purpose" in (step.error or "")
    assert "Traceback" in (step.error or "")
    assert store.get_pipeline_run(info.value.run_id).status is PipelineStatus.FAILED


def test_failure_finishes_independent_branches_then_resume_runs_only_the_rest(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    flag = tmp_path / "broken"
    flag.write_text("")
    failed = run_pipeline(
        s.branching, {"flag": str(flag)}, store=store, settings=settings, raise_on_failure=False
    )
    assert not failed.ok
    assert _statuses(failed) == {
        "numbers": "COMPLETED",
        "gate": "FAILED",
        "pair": "COMPLETED",
        "frame": "COMPLETED",
        "square": "COMPLETED",
        "summary": "COMPLETED",
        "after_gate": "SKIPPED",
    }
    assert "ValueError: flag" in (failed.step("gate").error or "")
    flag.unlink()
    resumed = resume(failed.id, pipe=s.branching, store=store, settings=settings)
    assert resumed.id == failed.id and resumed.ok and resumed.run.resumes == 1
    before = {st.name: st for st in failed.steps}
    for st in resumed.steps:
        if st.name in ("gate", "after_gate"):
            assert st.status is StepStatus.COMPLETED and st.attempts == 1
        else:  # untouched records: same timestamps, not re-run
            assert st == before[st.name]
    assert resumed.output("after_gate") == 3


def test_resume_refuses_a_changed_pipeline_and_a_live_runner(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    flag = tmp_path / "broken"
    flag.write_text("")
    failed = run_pipeline(
        s.branching, {"flag": str(flag)}, store=store, settings=settings, raise_on_failure=False
    )
    with pytest.raises(InvalidPipeline, match="no parameter"):
        resume(failed.id, pipe=s.arithmetic, store=store, settings=settings)

    @loopml.pipeline
    def branching(flag: str = "", start: int = 1) -> None:
        s.gate(flag, start)

    with pytest.raises(InvalidPipeline, match="other steps"):
        resume(failed.id, pipe=branching, store=store, settings=settings)
    store.acquire_lease(f"pipeline_run:{failed.id}", "otherhost:1:abc", 60)
    with pytest.raises(Conflict, match="still being run"):
        resume(failed.id, pipe=s.branching, store=store, settings=settings)


def test_timeout_fails_the_attempt(settings: Settings, store: Store) -> None:
    result = run_pipeline(
        s.timing_out, {"seconds": 30.0}, store=store, settings=settings, raise_on_failure=False
    )
    step = result.step("sleepy")
    assert step.status is StepStatus.FAILED and "StepTimeout" in (step.error or "")
    assert (step.wall_s or 0) < 30


class Point:
    def __init__(self, x: int) -> None:
        self.x = x


class PointMaterialiser(Materialiser):
    name = "tests.point"

    def can_save(self, obj: object) -> bool:
        return isinstance(obj, Point)

    def save(self, obj: object) -> bytes:
        assert isinstance(obj, Point)
        return str(obj.x).encode()

    def load(self, data: bytes) -> object:
        return Point(int(data))


@loopml.step
def make_point(x: int) -> Point:
    return Point(x)


@loopml.step
def read_point(point: Point) -> int:
    return point.x


@loopml.pipeline
def points(x: int = 7) -> None:
    read_point(make_point(x))


def test_pickle_fallback_and_registered_materialiser(settings: Settings, store: Store) -> None:
    plain = run_pipeline(points, store=store, settings=settings)
    assert plain.step("make_point").outputs[0].materialiser == "pickle"
    assert plain.output("make_point").x == 7
    register_materialiser(PointMaterialiser())
    try:
        custom = run_pipeline(points, {"x": 8}, store=store, settings=settings)
        assert custom.step("make_point").outputs[0].materialiser == "tests.point"
        assert custom.output("read_point") == 8 and custom.output("make_point").x == 8
    finally:
        from loopml.pipelines import _materialisers

        _materialisers._registered.clear()


def test_bad_inputs(settings: Settings, store: Store) -> None:
    with pytest.raises(InvalidPipeline):
        run_pipeline(s.arithmetic, {"nope": 1}, store=store, settings=settings)
    assert store.list_pipeline_runs() == [], "nothing is recorded for a graph that fails checks"
    from loopml.errors import InvalidInput

    with pytest.raises(InvalidInput, match="unknown executor"):
        run_pipeline(s.arithmetic, executor="ray", store=store, settings=settings)
    with pytest.raises(InvalidInput):
        register_materialiser(object())  # type: ignore[arg-type]


def test_a_step_knows_its_step_run(settings: Settings, store: Store) -> None:
    result = run_pipeline(s.introspective, store=store, settings=settings)
    assert result.output("whoami") == [result.id, result.step("whoami").id]
    from loopml.pipelines import current_step_run

    assert current_step_run() is None
    assert s.whoami() == [], "a plain call is not a step run"
