"""The Dask executor on a real local cluster (bound to 127.0.0.1): same outputs as local."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loopml.config import Settings
from loopml.entities import StepStatus
from loopml.pipelines import DaskExecutor, run_pipeline
from loopml.store import Store
from tests.pipelines import steps as s

pytestmark = pytest.mark.dask


@pytest.fixture(scope="module")
def dask_executor() -> Iterator[DaskExecutor]:
    pytest.importorskip("distributed")
    executor = DaskExecutor(n_workers=2)
    try:
        yield executor
    finally:
        executor.close()


def test_dask_and_local_give_identical_digests(
    settings: Settings, store: Store, dask_executor: DaskExecutor
) -> None:
    local = run_pipeline(s.arithmetic, {"n": 6}, store=store, settings=settings)
    remote = run_pipeline(
        s.arithmetic, {"n": 6}, executor=dask_executor, cache=False, store=store, settings=settings
    )
    assert remote.run.executor == "dask"
    for a, b in zip(local.steps, remote.steps, strict=True):
        assert b.status is StepStatus.COMPLETED
        assert [o.digest for o in a.outputs] == [o.digest for o in b.outputs], a.name
    assert remote.output("summary") == {"rows": 6, "total": 55}


def test_dask_parallel_retries_and_resources(
    settings: Settings, store: Store, dask_executor: DaskExecutor, tmp_path
) -> None:
    result = run_pipeline(
        s.napping, {"seconds": 0.5}, executor=dask_executor, store=store, settings=settings
    )
    a, b = result.step("nap"), result.step("nap_2")
    assert max(a.started_at_ms or 0, b.started_at_ms or 0) < min(
        a.ended_at_ms or 0, b.ended_at_ms or 0
    )
    # Workers offer cpu=1: a step asking for 4 is capped to what the largest worker has.
    demanding = run_pipeline(
        s.demanding, {"n": 3}, executor=dask_executor, store=store, settings=settings
    )
    assert demanding.output("hungry") == 6
    counter = tmp_path / "count"
    retried = run_pipeline(
        s.retrying,
        {"counter": str(counter), "fail_times": 1},
        executor=dask_executor,
        store=store,
        settings=settings,
    )
    assert retried.step("flaky").attempts == 2 and retried.output("flaky") == 2


def test_dask_steps_keep_their_logs(
    settings: Settings, store: Store, dask_executor: DaskExecutor
) -> None:
    from loopml.pipelines import read_step_log
    from loopml.workspace import Workspace

    result = run_pipeline(
        s.talking, {"n": 7}, executor=dask_executor, cache=False, store=store, settings=settings
    )
    with Workspace(settings, store=store) as workspace:
        log = read_step_log(result.id, "chatty", workspace=workspace)
    assert log is not None
    assert log.splitlines()[:2] == ["chatty starts with n=7", "a warning on stderr"]
    assert log.splitlines()[2].endswith("INFO tests.chatty: logged at info: 14")
    assert "distributed." not in log  # the Dask worker's own logging is not the step's
