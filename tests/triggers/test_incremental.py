"""Incremental retraining: the champion is updated on the rows since its data version
(partial_fit or warm start), and the update is gated like any retrain."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, SGDClassifier

import loopml
from loopml import data, lineage, registry, triggers
from loopml.entities import Relation
from loopml.errors import InvalidInput
from loopml.ids import ObjectKind, ObjectRef
from tests.triggers import loop_helpers
from tests.triggers.conftest import ANA
from tests.triggers.test_chain import H, _action


def _champion(ws: loopml.Workspace, tmp_path: Path, model: object | None = None) -> Path:
    """tx@v1 (1000 rows); the champion (``model`` fitted on it, or fraud v1) trained on it."""
    path = tmp_path / "tx.parquet"
    old = loop_helpers.frame(0, rows=1000)
    old.to_parquet(path)
    version = data.commit("tx", path)
    if model is not None:
        model.fit(old[["x1", "x2"]], old["y"])  # type: ignore[attr-defined]
        made = registry.register_model(
            "fraud", model, input_example=old[["x1", "x2"]].head(3), actor=ANA
        )
        registry.set_alias("fraud", "champion", made.number, actor=ANA)
    champion = registry.get_version("fraud@champion")
    lineage.record(
        [
            lineage.edge(
                ObjectRef(ObjectKind.DATASET_VERSION, version.id),
                ObjectRef(ObjectKind.MODEL_VERSION, champion.id),
                Relation.TRAINED_ON,
            )
        ]
    )
    return path


def _append(path: Path, rows: pd.DataFrame) -> None:
    pd.concat([pd.read_parquet(path), rows], ignore_index=True).to_parquet(path)
    data.commit("tx", path)


def _calls(tmp_path: Path) -> list[dict[str, object]]:
    lines = (tmp_path / "calls.jsonl").read_text().splitlines()
    return [c for c in map(json.loads, lines) if c["call"] == "train_incremental"]


def _rule(tmp_path: Path) -> None:
    action = _action(
        tmp_path,
        train=f"{H}:train_incremental",
        dataset="tx@main",
        data_param="data",
        incremental=True,
        since_param="since",
    )
    triggers.add_trigger("inc", "manual", "fraud", action=action)


def test_partial_fit_on_the_rows_since_the_champion_then_promoted(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    champion = SGDClassifier(loss="log_loss", random_state=0)
    path = _champion(loop_ws, tmp_path, champion)
    before = registry.get_version("fraud@champion").number
    _append(path, loop_helpers.frame(8, rows=300))
    _rule(tmp_path)
    result = triggers.run_chain(triggers.fire("inc").chain_id or "")
    assert result.outcome == "promoted", result.events
    assert result.output("params")["data"] == "tx@v2"
    assert result.output("params")["since"] == "tx@v1"
    (call,) = _calls(tmp_path)
    # only the 300 new rows were learnt, one update each, starting from the champion
    assert (call["rows"], call["how"], call["updates"]) == (300, "partial_fit", 300)
    assert registry.get_version("fraud@champion").number == before + 1


def test_warm_start_on_poisoned_new_rows_fails_the_gates_and_is_not_deployed(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    path = _champion(loop_ws, tmp_path)  # fraud v1, a LogisticRegression: warm start
    _append(path, loop_helpers.frame(8, rows=300, flip=True))
    _rule(tmp_path)
    result = triggers.run_chain(triggers.fire("inc").chain_id or "")
    assert result.outcome == "rejected", result.events
    (call,) = _calls(tmp_path)
    assert (call["rows"], call["how"]) == (300, "warm_start")
    assert registry.get_version("fraud/2").tags["loopml.status"] == "rejected"
    assert registry.get_version("fraud@champion").number == 1
    assert "canary" not in result.completed_steps


def test_rows_since_counts_repeats_and_update_refuses_what_it_cannot_do(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    path = _champion(loop_ws, tmp_path)
    old = pd.read_parquet(path)
    _append(path, pd.concat([old.head(2), old.head(2), loop_helpers.frame(4, rows=5)]))
    added = triggers.rows_since("tx@v2", "tx@v1", workspace=loop_ws)
    assert len(added) == 9  # 2 rows added twice each, and 5 new ones
    with pytest.raises(InvalidInput, match="no rows were added"):
        triggers.update_model(LogisticRegression(), added.head(0), ["x1", "x2"], "y")
    from sklearn.tree import DecisionTreeClassifier

    with pytest.raises(InvalidInput, match="neither partial_fit nor warm_start"):
        triggers.update_model(DecisionTreeClassifier(), added, ["x1", "x2"], "y")
