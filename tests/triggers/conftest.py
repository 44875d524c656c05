"""A workspace with a registered champion (a real, small model) and its gates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import loopml
from loopml import registry
from loopml.entities import Actor
from tests.triggers import loop_helpers

ANA = Actor("ana", ("approver",))
BEN = Actor("ben", ("approver",))


@pytest.fixture
def loop_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[loopml.Workspace]:
    """Workspace with fraud v1 registered, evaluated by its gates and made champion."""
    from sklearn.linear_model import LogisticRegression

    monkeypatch.setenv("LOOP_CALLS", str(tmp_path / "calls.jsonl"))
    gates = tmp_path / "gates.yaml"
    gates.write_text(loop_helpers.GATES)
    holdout = tmp_path / "holdout.parquet"
    loop_helpers.frame(99).to_parquet(holdout)
    ws = loopml.Workspace.open(home=tmp_path / "home").derive(actor=ANA)
    data = loop_helpers.frame(0)
    model = LogisticRegression().fit(data[["x1", "x2"]], data["y"])
    registry.register_model(
        "fraud",
        model,
        gates=gates,
        input_example=data[["x1", "x2"]].head(3),
        store=ws.store,
        artifacts=ws.artifacts,
        actor=ANA,
    )
    registry.set_alias("fraud", "champion", 1, store=ws.store, actor=ANA)
    with loopml.use_workspace(ws):
        yield ws
    ws.close()


def calls(tmp_path: Path, name: str) -> int:
    """How many times a helper ran (from $LOOP_CALLS)."""
    where = tmp_path / "calls.jsonl"
    if not where.exists():
        return 0
    return sum(f'"call": "{name}"' in line for line in where.read_text().splitlines())
