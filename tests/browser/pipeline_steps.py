"""A three-step pipeline the browser tests' home runs (its DAG is drawn on the page)."""

from __future__ import annotations

import loopml


@loopml.step
def load(n: int) -> list[int]:
    return list(range(n))


@loopml.step
def total(values: list[int]) -> int:
    return sum(values)


@loopml.step
def count(values: list[int]) -> int:
    return len(values)


@loopml.pipeline
def summary(n: int = 10) -> None:
    values = load(n)
    total(values)
    count(values)
