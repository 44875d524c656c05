"""Pipeline overhead: a 20-step chain (cold and fully cached) and a 200-step fan-out, on the
local and Dask executors.

Run: .venv/bin/python benchmarks/pipelines.py [--repeat 5] [--no-dask]

Steps are trivial (they add to an int), so the time measured is loopml's own: graph
checks, cache keys, store records, artifact writes and reads, and the executor round
trip. "cold" uses a fresh home each time (nothing cached); "local (pool started in each
run)" includes starting the worker processes in every timed run, "warm pool" reuses one
executor across runs (as an agent or a notebook would); "cached" re-runs a finished
pipeline. Per-step overhead
= run time / steps. Medians of several runs (min, max), because the machines are noisy.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import loopml
from loopml.config import load_settings
from loopml.pipelines import DaskExecutor, Executor, LocalExecutor, run_pipeline
from loopml.store import open_store


@loopml.step
def seed() -> int:
    return 0


@loopml.step
def inc(value: int) -> int:
    return value + 1


@loopml.pipeline
def chain(length: int = 20) -> None:
    value = seed()
    for _ in range(length - 1):
        value = inc(value)


@loopml.step
def add(value: int, amount: int) -> int:
    return value + amount


@loopml.pipeline
def fan_out(width: int = 200) -> None:
    root = seed()
    for amount in range(width):  # distinct parameters: no step is a cache hit of another
        add(root, amount)


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def line(label: str, times: list[float], steps: int) -> str:
    median = statistics.median(times)
    return (
        f"  {label:<34} median {median * 1000:8.1f} ms  (min {min(times) * 1000:.1f}, "
        f"max {max(times) * 1000:.1f})  per step {median / steps * 1000:6.2f} ms"
    )


def run_case(
    name: str, make_executor: Callable[[], Executor], repeat: int, shared: bool
) -> list[str]:
    out = [f"{name} executor:"]
    executor = make_executor() if shared else None

    def once(pipe: Any, params: dict[str, int], home: str, cache: bool = True) -> None:
        settings = load_settings(home=home)
        store = open_store(settings)
        try:
            chosen = executor if executor is not None else make_executor()
            try:
                result = run_pipeline(
                    pipe, params, executor=chosen, store=store, settings=settings, cache=cache
                )
            finally:
                if executor is None:
                    chosen.close()
            assert result.ok
        finally:
            store.close()

    with tempfile.TemporaryDirectory() as scratch:
        counter = iter(range(10_000))

        def fresh() -> str:
            return os.path.join(scratch, f"home{next(counter)}")

        for pipe, params, steps, label in (
            (chain, {"length": 20}, 20, "20-step chain, cold"),
            (fan_out, {"width": 200}, 201, "200-step fan-out, cold"),
        ):
            once(pipe, params, fresh())  # warm imports and the fork server
            out.append(
                line(label, timed(lambda p=pipe, a=params: once(p, a, fresh()), repeat), steps)
            )
        home = fresh()
        once(chain, {"length": 20}, home)
        out.append(
            line(
                "20-step chain, fully cached",
                timed(lambda: once(chain, {"length": 20}, home), repeat),
                20,
            )
        )
    if executor is not None:
        executor.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()
    print(
        f"loopml pipelines benchmark — {platform.node()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, median of {args.repeat}"
    )
    for text in run_case("local (pool started in each run)", LocalExecutor, args.repeat, False):
        print(text, flush=True)
    for text in run_case("local (warm pool)", LocalExecutor, args.repeat, True):
        print(text, flush=True)
    if not args.no_dask:
        started = time.perf_counter()
        dask = DaskExecutor()
        dask._start()
        print(f"dask: LocalCluster started in {time.perf_counter() - started:.2f} s (not timed)")
        for text in run_case("dask", lambda: dask, args.repeat, shared=True):
            print(text, flush=True)
        dask.close()


if __name__ == "__main__":
    main()
