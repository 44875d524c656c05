"""Drift and performance triggers without a ``source``: drift of the prediction log's
newest inputs against the champion's training profile, and the accuracy of its newest
labelled predictions."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import loopml
from loopml import triggers
from loopml.serving import PredictionLog, PredictionRecord, log_feedback
from tests.triggers import loop_helpers
from tests.triggers.test_incremental import _champion


def _log(ws: loopml.Workspace, x1: np.ndarray, x2: np.ndarray, predicted: np.ndarray) -> None:
    log = PredictionLog(ws)
    for i in range(len(x1)):
        log.append(
            PredictionRecord(
                prediction_id=f"p{i}",
                time_ms=int(time.time() * 1000),
                model="fraud",
                version=1,
                deployment=None,
                arm=None,
                inputs={"x1": x1[i : i + 1], "x2": x2[i : i + 1]},
                outputs={"predict": predicted[i : i + 1].astype(np.int64)},
                latency_ms=1.0,
            )
        )
    log.close()


def test_drift_of_the_logged_inputs_fires_and_an_unchanged_stream_does_not(
    loop_ws: loopml.Workspace, tmp_path: Path
) -> None:
    _champion(loop_ws, tmp_path)  # fraud v1 trained on tx@v1 (frame(0)): the reference
    triggers.add_trigger(
        "log-drift", "drift", "fraud", condition={"threshold": 0.5, "window_rows": 300}
    )
    same = loop_helpers.frame(21, rows=300)
    _log(loop_ws, same["x1"].to_numpy(), same["x2"].to_numpy(), same["y"].to_numpy())
    quiet = triggers.check("log-drift")
    assert quiet.verdict == "idle", quiet
    moved = loop_helpers.frame(22, rows=300)
    _log(loop_ws, moved["x1"].to_numpy() + 3, moved["x2"].to_numpy() - 3, moved["y"].to_numpy())
    fired = triggers.check("log-drift")
    assert fired.verdict == "fired" and fired.event is not None, fired
    assert sorted(fired.event.detail["drifted"]) == ["x1", "x2"]
    assert fired.event.detail["value"] == 1.0


def test_accuracy_of_the_labelled_predictions_below_the_bound_fires(
    loop_ws: loopml.Workspace,
) -> None:
    triggers.add_trigger(
        "log-decay", "performance", "fraud", condition={"metric": "accuracy", "min": 0.8}
    )
    rows = loop_helpers.frame(23, rows=200)
    predicted = rows["y"].to_numpy().copy()
    _log(loop_ws, rows["x1"].to_numpy(), rows["x2"].to_numpy(), predicted)
    assert triggers.check("log-decay").verdict == "idle"  # no labels yet
    truth = predicted.copy()
    truth[:60] = 1 - truth[:60]  # 30 % wrong: accuracy 0.7
    log_feedback([{"prediction_id": f"p{i}", "label": int(truth[i])} for i in range(200)])
    fired = triggers.check("log-decay")
    assert fired.verdict == "fired" and fired.event is not None, fired
    assert fired.event.detail["value"] == 0.7 and fired.event.detail["labelled_rows"] == 200


def test_a_trigger_that_cannot_be_observed_is_an_error_and_the_others_still_run(
    loop_ws: loopml.Workspace, monkeypatch: object
) -> None:
    # the champion has no training data in its lineage: nothing to compare the log with
    triggers.add_trigger("blind", "drift", "fraud", condition={"threshold": 0.5})
    triggers.add_trigger(
        "decay",
        "performance",
        "fraud",
        condition={"metric": "roc_auc", "min": 0.8, "source": "tests.triggers.loop_helpers:signal"},
    )
    rows = loop_helpers.frame(24, rows=50)
    _log(loop_ws, rows["x1"].to_numpy(), rows["x2"].to_numpy(), rows["y"].to_numpy())
    loop_helpers.SIGNAL["value"] = 0.5
    try:
        results = {r.trigger: r for r in triggers.check_all()}
    finally:
        loop_helpers.SIGNAL["value"] = 0.0
    assert results["blind"].verdict == "error"
    assert "training data version" in results["blind"].reason
    assert results["decay"].verdict == "fired"
