"""The demo's figures hold across seeds (quick size): the drift is detected, the retrained
candidate is promoted, and the live ROC-AUC measured from the labels recovers.

tests/e2e/test_demo.py checks the same figures at the default seed, so this one seed makes
two (a third cost the suite a minute and a half; benchmarks/loop.py runs more). The result
is also rendered as `loopml demo` without --json prints it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

import loopml
from loopml.cli.demo import show_result
from loopml.demo import run_demo


@pytest.mark.parametrize("seed", [11])
def test_detection_promotion_and_recovery_hold_for_seed(tmp_path: Path, seed: int) -> None:
    ws = loopml.Workspace.open(home=tmp_path / "home")
    try:
        result = run_demo(ws, quick=True, seed=seed)
    finally:
        ws.close()
    loop = result.loop
    assert loop["false_triggers_before_drift"] == 0
    assert loop["detected"], loop["windows"]
    assert 0 < loop["detected_after_rows"] <= 4 * loop["window_rows"]
    assert loop["chain_outcome"] == "promoted", loop["chain_steps"]
    assert loop["champion_after"] == f"fraud/{loop['candidate']}"
    assert loop["auc_after_drift"] < loop["auc_before_drift"]
    assert loop["auc_after_recovery"] > loop["auc_after_drift"]
    assert loop["lineage_reaches_alert"]

    shown = io.StringIO()
    show_result(result, tmp_path / "home", Console(file=shown, width=400, color_system=None))
    text = shown.getvalue()
    assert f"Why is {loop['champion_after']} in production?" in text
    assert "Readiness (loopml readiness models:/fraud@champion):" in text
    assert f"Open the report: {loop['html_report']}" in text
    assert "drift detected" in text and f"{loop['detected_after_rows']} rows" in text
