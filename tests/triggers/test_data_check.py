"""New data must pass its schema and the poisoning check before a retrain, or the retrain
is refused and recorded."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import loopml
from loopml import data, lineage, registry, triggers
from loopml.entities import Relation, TriggerEventKind
from loopml.ids import ObjectKind, ObjectRef
from tests.triggers import loop_helpers
from tests.triggers.conftest import calls
from tests.triggers.test_chain import _action


def test_clean_data_passes_and_each_attack_is_caught() -> None:
    reference = loop_helpers.frame(0, rows=2000)
    clean = loop_helpers.frame(1, rows=500)
    assert triggers.poisoning_check(reference, clean, "y").ok
    flipped = loop_helpers.frame(1, rows=500, flip=True)
    flipped.loc[flipped.index[:150], "y"] = 1  # labels pushed to one class
    check = triggers.poisoning_check(reference, flipped, "y")
    assert check.failed == ["label_shift"]
    # the same label shift is allowed when most features drifted (drift explains it)
    assert triggers.poisoning_check(reference, flipped, "y", drift_share=1.0).ok
    flood = pd.concat([clean.head(100)] + [clean.head(1)] * 100, ignore_index=True)
    assert "duplicates" in triggers.poisoning_check(reference, flood, "y").failed
    near = pd.concat([clean, clean.head(100) + 0.0001], ignore_index=True)
    near["y"] = near["y"].round().astype(int)
    assert "duplicates" in triggers.poisoning_check(reference, near, "y").failed
    wild = clean.copy()
    wild.loc[wild.index[:50], "x1"] = 1e6
    assert triggers.poisoning_check(reference, wild, "y").failed == ["outliers"]


def _champion_trained_on(ws: loopml.Workspace, tmp_path: Path) -> Path:
    path = tmp_path / "tx.parquet"
    loop_helpers.frame(0, rows=1000).to_parquet(path)
    version = data.commit("tx", path)
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


def test_poisoned_new_version_refuses_the_retrain(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    path = _champion_trained_on(loop_ws, tmp_path)
    triggers.add_trigger(
        "fresh",
        "new_data",
        "fraud",
        condition={"dataset": "tx"},
        action=_action(tmp_path, dataset="tx@main"),
    )
    assert triggers.check("fresh").verdict == "idle"
    poisoned = loop_helpers.frame(5, rows=1000)
    poisoned["y"] = 1
    poisoned.to_parquet(path)
    data.commit("tx", path)
    fired = triggers.check("fresh")
    result = triggers.run_chain(fired.chain_id or "")
    assert result.outcome == "refused"
    refused = [e for e in result.events if e.kind is TriggerEventKind.REFUSED]
    assert refused and "poisoning: label_shift" in refused[0].detail["failed"]
    assert calls(tmp_path, "train") == 0
    assert registry.get_version("fraud@champion").number == 1


def test_new_version_breaking_the_saved_schema_is_refused(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    path = _champion_trained_on(loop_ws, tmp_path)
    data.save_schema("tx@main", data.infer_schema("tx@main"))
    triggers.add_trigger("fresh", "manual", "fraud", action=_action(tmp_path, dataset="tx@main"))
    broken = loop_helpers.frame(6, rows=1000).drop(columns=["x2"])
    broken.to_parquet(path)
    data.commit("tx", path)
    result = triggers.run_chain(triggers.fire("fresh").chain_id or "")
    assert result.outcome == "refused"
    refused = next(e for e in result.events if e.kind is TriggerEventKind.REFUSED)
    assert refused.detail["schema_ok"] is False
    assert calls(tmp_path, "train") == 0


def test_clean_new_version_is_trained_on(loop_ws: loopml.Workspace, tmp_path: Path) -> None:
    path = _champion_trained_on(loop_ws, tmp_path)
    triggers.add_trigger(
        "fresh", "manual", "fraud", action=_action(tmp_path, dataset="tx@main", data_param="data")
    )
    loop_helpers.frame(7, rows=1000).to_parquet(path)
    data.commit("tx", path)
    result = triggers.run_chain(triggers.fire("fresh").chain_id or "")
    assert result.outcome == "promoted"
    assert result.output("dataset") == "tx@v2"
    assert result.output("params")["data"] == "tx@v2"
