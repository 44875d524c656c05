"""The micro-batcher with real threads and a real event loop; models are small functions."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopml.errors import DeadlineExceeded, InvalidInput, Overloaded
from loopml.serving import MicroBatcher
from loopml.serving._cost import CostModel

Columns = dict[str, np.ndarray]


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


class Recorder:
    """A BatchObserver that keeps everything it is told."""

    def __init__(self) -> None:
        self.dispatches: list[dict[str, Any]] = []
        self.sheds: list[str] = []
        self.queue: list[int] = []

    def on_dispatch(
        self, *, rows: int, requests: int, wait_s: float, predict_s: float, reason: str
    ) -> None:
        self.dispatches.append(
            {"rows": rows, "requests": requests, "wait_s": wait_s, "reason": reason}
        )

    def on_shed(self, *, reason: str) -> None:
        self.sheds.append(reason)

    def on_queue(self, *, rows: int) -> None:
        self.queue.append(rows)


class Model:
    """Doubles ``x``; records each call's ids; can be held at a gate or made slow."""

    def __init__(self, sleep_s: float = 0.0) -> None:
        self.sleep_s = sleep_s
        self.calls: list[np.ndarray] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def __call__(self, cols: Columns) -> Columns:
        self.calls.append(np.asarray(cols["x"]).copy())
        self.entered.set()
        self.gate.wait(30)
        if self.sleep_s:
            time.sleep(self.sleep_s)
        if "sleep" in cols:
            time.sleep(float(np.max(cols["sleep"], initial=0.0)))
        if (np.asarray(cols["x"]) < 0).any():
            raise ValueError("negative x")
        return {"y": cols["x"] * 2}


def rows(*values: float) -> Columns:
    return {"x": np.array(values, dtype=float)}


async def hold(model: Model, batcher: MicroBatcher) -> asyncio.Task[Columns]:
    """Occupy the model with one request held at the gate; returns its task."""
    model.gate.clear()
    model.entered.clear()
    task = asyncio.create_task(batcher.submit(rows(1000.0)))
    await asyncio.to_thread(model.entered.wait, 10)
    return task


request_rows = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3)), min_size=1, max_size=30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests=request_rows, max_batch_rows=st.sampled_from([1, 7, 64, 512]))
def test_each_caller_gets_exactly_its_own_rows(
    requests: list[tuple[int, int]], max_batch_rows: int
) -> None:
    def predict(cols: Columns) -> Columns:
        time.sleep(0.0005)  # keep the model busy long enough for a queue to form
        return {
            "y": cols["x"] * 2,
            "label": cols["name"],
            "total": cols["m"].sum(axis=1),
            "same": cols["m"],
        }

    def make(i: int, n: int) -> Columns:
        x = i * 1000.0 + np.arange(n, dtype=float)
        names = np.array([f"r{i}-{j}" for j in range(n)], dtype=object)
        return {"x": x, "name": names, "m": np.stack([x, -x, x + 0.5], axis=1).reshape(n, 3)}

    async def main() -> list[tuple[Columns, Columns]]:
        batcher = MicroBatcher(predict, max_batch_rows=max_batch_rows)
        await batcher.start()

        async def one(i: int, n: int, pause: int) -> tuple[Columns, Columns]:
            for _ in range(pause):
                await asyncio.sleep(0)
            sent = make(i, n)
            return sent, await batcher.submit(sent)

        out = await asyncio.gather(*(one(i, n, p) for i, (n, p) in enumerate(requests)))
        await batcher.aclose()
        assert batcher.stats["requests"] == len(requests)
        return list(out)

    for sent, got in run(main()):
        n = len(sent["x"])
        assert set(got) == {"y", "label", "total", "same"}
        np.testing.assert_array_equal(got["y"], sent["x"] * 2)
        assert got["label"].tolist() == sent["name"].tolist()
        np.testing.assert_array_equal(got["total"], sent["m"].sum(axis=1))
        np.testing.assert_array_equal(got["same"], sent["m"])
        assert all(len(v) == n for v in got.values())


def test_a_lone_request_is_dispatched_at_once() -> None:
    model, seen = Model(), Recorder()

    async def main() -> Columns:
        batcher = MicroBatcher(model, observer=seen)
        await batcher.start()
        out = await batcher.submit(rows(1.0, 2.0))
        await batcher.aclose()
        return out

    np.testing.assert_array_equal(run(main())["y"], [2.0, 4.0])
    assert seen.dispatches == [
        {"rows": 2, "requests": 1, "wait_s": pytest.approx(0.0, abs=5.0), "reason": "idle"}
    ]
    assert len(model.calls) == 1


def test_requests_arriving_while_the_model_is_busy_share_a_batch() -> None:
    model, seen = Model(sleep_s=0.01), Recorder()

    async def main() -> None:
        batcher = MicroBatcher(model, observer=seen)

        async def client(c: int) -> None:
            for k in range(5):
                got = await batcher.submit(rows(c * 100.0 + k))
                assert got["y"].tolist() == [(c * 100.0 + k) * 2]

        await asyncio.gather(*(client(c) for c in range(8)))
        await batcher.aclose()

    run(main())
    assert len(model.calls) < 40
    assert sum(d["requests"] for d in seen.dispatches) == 40
    assert {d["reason"] for d in seen.dispatches} <= {"idle", "cost"}
    assert any(d["requests"] > 1 for d in seen.dispatches)


def test_no_request_waits_longer_than_max_latency_behind_a_busy_model() -> None:
    model, seen = Model(sleep_s=0.02), Recorder()

    async def main() -> None:
        batcher = MicroBatcher(model, max_latency_ms=1000.0, observer=seen)

        async def late(i: int) -> None:
            await asyncio.sleep(0.005 * i)
            await batcher.submit(rows(float(i)))

        await asyncio.gather(*(late(i) for i in range(30)))
        await batcher.aclose()

    run(main())
    assert max(d["wait_s"] for d in seen.dispatches) < 1.0


def test_full_batches_are_cut_and_the_earliest_due_goes_first() -> None:
    model, seen = Model(), Recorder()

    async def main() -> None:
        batcher = MicroBatcher(model, max_batch_rows=2, max_latency_ms=5000.0, observer=seen)
        held = await hold(model, batcher)
        relaxed = [asyncio.create_task(batcher.submit(rows(i, i))) for i in (1.0, 2.0)]
        await asyncio.sleep(0.01)
        urgent = asyncio.create_task(
            batcher.submit(rows(3.0, 3.0), deadline=time.monotonic() + 2.0)
        )
        await asyncio.sleep(0.01)
        model.gate.set()
        await asyncio.gather(held, urgent, *relaxed)
        await batcher.aclose()

    run(main())
    assert [c.tolist() for c in model.calls] == [[1000.0], [3.0, 3.0], [1.0, 1.0], [2.0, 2.0]]
    assert [d["reason"] for d in seen.dispatches[1:]] == ["full", "full", "cost"]


def test_a_deadline_the_cost_fit_says_cannot_be_met_is_shed_before_predict() -> None:
    model, seen = Model(sleep_s=0.1), Recorder()

    async def main() -> None:
        batcher = MicroBatcher(model, observer=seen)
        for i in range(3):  # teach the fit that a batch takes ~0.1 s
            await batcher.submit(rows(float(i)))
        with pytest.raises(Overloaded) as caught:
            await batcher.submit(rows(9.0), deadline=time.monotonic() + 0.02)
        assert caught.value.retry_after_s > 0
        # A deadline the fit says can be met is served.
        got = await batcher.submit(rows(8.0), deadline=time.monotonic() + 30.0)
        assert got["y"].tolist() == [16.0]
        await batcher.aclose()

    run(main())
    assert [c.tolist() for c in model.calls] == [[0.0], [1.0], [2.0], [8.0]]
    assert seen.sheds == ["deadline"]


def test_a_deadline_that_passes_raises_deadline_exceeded() -> None:
    model = Model()

    async def main() -> None:
        batcher = MicroBatcher(model)
        for i in range(3):
            await batcher.submit(rows(float(i)))
        with pytest.raises(DeadlineExceeded):
            await batcher.submit(rows(5.0), deadline=time.monotonic() - 0.001)
        held = await hold(model, batcher)
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            await batcher.submit(rows(6.0), deadline=started + 0.05)
        waited = time.monotonic() - started
        model.gate.set()
        await held
        await batcher.aclose()
        assert waited < 5.0  # answered at its deadline, not when the model came free
        assert batcher.stats["expired"] == 2

    run(main())
    assert [c.tolist() for c in model.calls] == [[0.0], [1.0], [2.0], [1000.0]]


def test_a_failing_request_does_not_fail_its_batch_neighbours() -> None:
    model = Model()

    async def main() -> list[Any]:
        batcher = MicroBatcher(model)
        held = await hold(model, batcher)
        tasks = [asyncio.create_task(batcher.submit(rows(v))) for v in (1.0, -1.0, 2.0)]
        await asyncio.sleep(0.01)
        model.gate.set()
        await held
        out = await asyncio.gather(*tasks, return_exceptions=True)
        assert batcher.stats["retried"] == 1
        await batcher.aclose()
        return out

    good1, bad, good2 = run(main())
    assert good1["y"].tolist() == [2.0]
    assert good2["y"].tolist() == [4.0]
    assert isinstance(bad, ValueError)
    assert [c.tolist() for c in model.calls][1] == [1.0, -1.0, 2.0]


def test_aclose_answers_every_queued_request_then_refuses() -> None:
    model = Model()

    async def main() -> None:
        batcher = MicroBatcher(model)
        held = await hold(model, batcher)
        tasks = [asyncio.create_task(batcher.submit(rows(float(i)))) for i in range(5)]
        await asyncio.sleep(0.01)
        closing = asyncio.create_task(batcher.aclose())
        await asyncio.sleep(0.01)
        with pytest.raises(Overloaded):
            await batcher.submit(rows(7.0))
        model.gate.set()
        await closing
        assert (await held)["y"].tolist() == [2000.0]
        assert [(await t)["y"].tolist() for t in tasks] == [[0.0], [2.0], [4.0], [6.0], [8.0]]

    run(main())


def test_disabled_runs_every_request_alone() -> None:
    model = Model(sleep_s=0.002)

    async def main() -> None:
        batcher = MicroBatcher(model, enabled=False)
        out = await asyncio.gather(*(batcher.submit(rows(float(i), -0.5 + i)) for i in range(1, 9)))
        await batcher.aclose()
        assert [o["y"].tolist() for o in out] == [[2.0 * i, 2.0 * i - 1] for i in range(1, 9)]

    run(main())
    assert sorted(len(c) for c in model.calls) == [2] * 8


def test_a_full_queue_sheds() -> None:
    model = Model()

    async def main() -> None:
        batcher = MicroBatcher(model, max_queue_rows=4)
        held = await hold(model, batcher)
        queued = asyncio.create_task(batcher.submit(rows(1.0, 2.0, 3.0)))
        await asyncio.sleep(0.01)
        with pytest.raises(Overloaded) as caught:
            await batcher.submit(rows(4.0, 5.0))
        assert caught.value.fields["reason"] == "queue"
        model.gate.set()
        await asyncio.gather(held, queued)
        await batcher.aclose()

    run(main())


@pytest.mark.parametrize(
    "bad",
    [{}, {"x": np.zeros(2), "z": np.zeros(3)}],
    ids=["no-columns", "ragged"],
)
def test_malformed_rows_are_refused(bad: Columns) -> None:
    async def main() -> None:
        batcher = MicroBatcher(Model())
        with pytest.raises(InvalidInput):
            await batcher.submit(bad)
        await batcher.aclose()

    run(main())


def test_a_model_returning_the_wrong_number_of_rows_fails_its_callers() -> None:
    bad_model: Callable[[Columns], Columns] = lambda cols: {"y": np.zeros(1)}  # noqa: E731

    async def main() -> None:
        batcher = MicroBatcher(bad_model)
        with pytest.raises(RuntimeError, match="1 rows of output 'y' for 3 input rows"):
            await batcher.submit(rows(1.0, 2.0, 3.0))
        await batcher.aclose()

    run(main())


def test_the_cost_fit_recovers_fixed_and_per_row_cost() -> None:
    fit = CostModel()
    assert fit.predict(100) == 0.0 and not fit.ready
    for n in [1, 5, 20, 100, 3, 50] * 5:
        fit.observe(n, 0.002 + 0.00001 * n)
    assert fit.ready
    assert fit.a == pytest.approx(0.002, rel=1e-6)
    assert fit.b == pytest.approx(0.00001, rel=1e-6)
    lone = CostModel()
    for _ in range(5):
        lone.observe(1, 0.004)
    assert lone.a == pytest.approx(0.004) and lone.b == 0.0


def test_the_sink_gets_each_batch_once_with_its_tags_and_rows() -> None:
    model = Model(sleep_s=0.01)
    got: list[tuple[list[float], list[float], list[Any], list[int]]] = []

    def sink(inputs: Columns, outputs: Columns, tags: list[Any], counts: list[int]) -> None:
        got.append((inputs["x"].tolist(), outputs["y"].tolist(), tags, counts))

    async def main() -> None:
        batcher = MicroBatcher(model, sink=sink)

        async def client(c: int) -> None:
            for k in range(5):
                await batcher.submit(rows(c * 100.0 + k), tag=f"{c}-{k}")

        await asyncio.gather(*(client(c) for c in range(6)))
        await batcher.aclose()

    run(main())
    assert len(got) == len(model.calls) < 30  # one sink call per predict call
    tags = [t for _, _, batch_tags, _ in got for t in batch_tags]
    assert sorted(tags) == sorted(f"{c}-{k}" for c in range(6) for k in range(5))
    for x, y, batch_tags, counts in got:
        assert len(x) == sum(counts) and y == [v * 2 for v in x]
        assert [f"{int(v) // 100}-{int(v) % 100}" for v in x] == batch_tags


def test_a_failing_sink_fails_its_callers_rather_than_dropping_silently() -> None:
    def sink(inputs: Columns, outputs: Columns, tags: list[Any], counts: list[int]) -> None:
        raise Overloaded("the prediction log queue is full", retry_after_s=1.0)

    async def main() -> None:
        batcher = MicroBatcher(Model(), sink=sink)
        with pytest.raises(Overloaded):
            await batcher.submit(rows(1.0))
        await batcher.aclose()

    run(main())
