"""Steps and pipelines the tests run (importable, so worker processes find them)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

import loopml


@loopml.step
def numbers(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64)


@loopml.step
def square(values: np.ndarray) -> np.ndarray:
    return values**2


@loopml.step
def frame(values: np.ndarray, label: str) -> pd.DataFrame:
    return pd.DataFrame({"value": values, "label": label})


@loopml.step
def summary(table: pd.DataFrame, squares: np.ndarray) -> dict:
    return {"rows": len(table), "total": int(squares.sum())}


@loopml.pipeline
def arithmetic(n: int = 5, label: str = "x") -> None:
    values = numbers(n)
    summary(frame(values, label), square(values))


@loopml.step
def nap(seconds: float, tag: str) -> str:
    time.sleep(seconds)
    return tag


@loopml.step
def pair(a: str, b: str) -> list:
    return [a, b]


@loopml.pipeline
def napping(seconds: float = 1.0) -> None:
    pair(nap(seconds, "a"), nap(seconds, "b"))


@loopml.step(retries=2, retry_delay=0.01)
def flaky(counter: str, fail_times: int) -> int:
    """Fails the first ``fail_times`` attempts (counted in a file)."""
    path = Path(counter)
    attempt = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(attempt))
    if attempt <= fail_times:
        raise RuntimeError(f"attempt {attempt} fails on purpose")
    return attempt


@loopml.pipeline
def retrying(counter: str = "", fail_times: int = 1) -> None:
    flaky(counter, fail_times)


@loopml.step
def gate(flag: str, value: int) -> int:
    """Fails while the file ``flag`` exists."""
    if Path(flag).exists():
        raise ValueError(f"flag {flag} is set")
    return value + 1


@loopml.step
def slow_unless(flag: str, value: int) -> int:
    """Sleeps a long time while ``flag`` exists (to be killed), else returns at once."""
    if Path(flag).exists():
        Path(flag + ".started").write_text("started")
        time.sleep(120)
    return value * 10


@loopml.pipeline
def branching(flag: str = "", start: int = 1) -> None:
    first = numbers(3)
    gated = gate(flag, start)
    pair(str(start), "other")
    summary(frame(first, "f"), square(first))
    gate.with_options(name="after_gate")(flag + ".never", gated)


@loopml.pipeline
def killable(flag: str = "", start: int = 1) -> None:
    first = slow_unless(flag + ".fast", start)
    slow_unless.with_options(name="slow")(flag, first)


@loopml.step(timeout=0.5)
def sleepy(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@loopml.pipeline
def timing_out(seconds: float = 5.0) -> None:
    sleepy(seconds)


@loopml.step(resources={"cpu": 4, "memory": "256MiB"})
def hungry(n: int) -> int:
    return n * 2


@loopml.pipeline
def demanding(n: int = 2) -> None:
    hungry(n)


@loopml.step
def whoami() -> list:
    from loopml.pipelines import current_step_run

    return list(current_step_run() or [])


@loopml.pipeline
def introspective() -> None:
    whoami()


@loopml.step
def tracked(n: int) -> int:
    with loopml.start_run("inside-step") as run:
        run.log_metric("n", n)
        with loopml.start_run("child"):
            pass
    return n


@loopml.step
def tracked_then_fails(n: int) -> int:
    with loopml.start_run("doomed"):
        pass
    raise RuntimeError(f"boom {n}")


@loopml.pipeline
def with_tracking(n: int = 2, fail: bool = False) -> None:
    value = tracked(n)
    if fail:
        tracked_then_fails(value)


@loopml.step
def tracked_total(values: np.ndarray) -> int:
    """Log into the ambient SDK (no store passed): it must land in the pipeline's home."""
    total = int(values.sum())
    with loopml.start_run(name="inside-step") as run:
        run.log_metric("total", total)
    return total


@loopml.step
def committed(values: np.ndarray, folder: str) -> str:
    """Commit a file with the module-level data SDK from inside a step."""
    path = Path(folder) / "values.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"value": values}).to_csv(path, index=False)
    return loopml.data.commit("step-data", path, message="from a step").id


@loopml.pipeline
def ambient(n: int = 4, folder: str = "out") -> None:
    values = numbers(n)
    tracked_total(values)
    committed(values, folder)


@loopml.step
def chatty(n: int) -> int:
    """Prints, writes to stderr and logs: its step log must hold all three, in order."""
    import logging
    import sys

    print(f"chatty starts with n={n}")
    print("a warning on stderr", file=sys.stderr)
    logging.getLogger("tests.chatty").info("logged at info: %d", n * 2)
    logging.getLogger("tests.chatty").debug("debug is below the captured level")
    return n * 2


@loopml.step(cache=False)
def loud(n_bytes: int) -> int:
    """Prints ``n_bytes`` bytes of numbered lines (beyond the 1 MiB a log keeps)."""
    line = 0
    written = 0
    while written < n_bytes:
        text = f"line {line:08d} " + "x" * 50
        print(text)
        written += len(text) + 1
        line += 1
    return line


@loopml.step
def noisy_failure(value: int) -> int:
    print(f"about to fail on {value}")
    raise ValueError(f"noisy failure on {value}")


@loopml.pipeline
def talking(n: int = 3, loud_bytes: int = 10, fail: bool = False) -> None:
    doubled = chatty(n)
    loud(loud_bytes)
    if fail:
        noisy_failure(doubled)
