"""`loopml readiness`: the checklist fails an unversioned dataset and a model without a
card, and passes each item once its evidence exists."""

from __future__ import annotations

import json
from pathlib import Path

import loopml
from loopml import data, registry, triggers
from tests.fixtures.cli import Cli
from tests.triggers.test_data_check import _champion_trained_on


def _item(result: triggers.Readiness, start: str) -> triggers.ReadinessItem:
    return next(i for i in result.items if i.name.startswith(start))


def test_unversioned_data_and_missing_card_fail(loop_ws: loopml.Workspace) -> None:
    result = triggers.readiness("models:/fraud@champion")
    assert not result.ok and len(result.items) == 7
    assert not _item(result, "data").ok and "not versioned" in _item(result, "data").evidence
    assert not _item(result, "model card").ok
    assert "no model card" in _item(result, "model card").evidence


def test_items_pass_once_their_evidence_exists(loop_ws: loopml.Workspace, tmp_path: Path) -> None:
    _champion_trained_on(loop_ws, tmp_path)
    assert "no saved schema" in _item(triggers.readiness("fraud@champion"), "data").evidence
    data.save_schema("tx@main", data.infer_schema("tx@main"))
    registry.model_card("fraud@champion", store=loop_ws.store, artifacts=loop_ws.artifacts)
    for kind, condition in (
        ("drift", {"threshold": 0.3}),
        ("performance", {"metric": "roc_auc", "min": 0.8}),
    ):
        triggers.add_trigger(f"fraud-{kind}", kind, "fraud", condition=condition)
    result = triggers.readiness("fraud@champion")
    assert _item(result, "data").ok, _item(result, "data")
    assert _item(result, "model card").ok and _item(result, "alerts").ok
    assert not _item(result, "code").ok  # registered without a tracked run from git


def test_cli_exit_one_when_an_item_fails_and_json(loop_ws: loopml.Workspace, cli: Cli) -> None:
    home = str(loop_ws.home)
    text = cli("--home", home, "readiness", "models:/fraud@champion")
    assert text.returncode == 1
    assert "FAIL data versioned and validated" in text.stdout and "not ready" in text.stdout
    as_json = cli("--home", home, "readiness", "fraud@champion", "--json")
    assert as_json.returncode == 1
    doc = json.loads(as_json.stdout)
    assert doc["ok"] is False and doc["version"] == 1
    assert [i["ok"] for i in doc["items"]].count(False) >= 2
    missing = cli("--home", home, "readiness", "fraud/9")
    assert missing.returncode == 2
