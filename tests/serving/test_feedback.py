"""Feedback joined to predictions by id (late, partial, duplicate, unknown) and
read_predictions' filters."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loopml
from loopml.errors import InvalidInput, NotFound
from loopml.serving import PredictionLog, PredictionRecord, log_feedback, read_predictions


def record(
    pid: str, rows: int = 1, *, time_ms: int | None = None, **changes: object
) -> PredictionRecord:
    values: dict[str, object] = {
        "prediction_id": pid,
        "time_ms": int(time.time() * 1000) if time_ms is None else time_ms,
        "model": "fraud",
        "version": None,
        "deployment": None,
        "arm": None,
        "inputs": {"x": np.arange(rows, dtype=np.float64)},
        "outputs": {"predict": np.zeros(rows, dtype=np.int64)},
        "latency_ms": 1.0,
    }
    values.update(changes)
    return PredictionRecord(**values)  # type: ignore[arg-type]


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[loopml.Workspace]:
    with (
        loopml.Workspace.open(home=tmp_path / "home") as workspace,
        loopml.use_workspace(workspace),
    ):
        yield workspace


def test_late_partial_and_duplicate_labels(ws: loopml.Workspace) -> None:
    log = PredictionLog(ws)
    for pid, rows in (("a", 1), ("b", 3), ("c", 1)):
        log.append(record(pid, rows))
    log.close()
    first = log_feedback("a", 0)
    assert (first.accepted, first.updated) == (1, 0)
    again = log_feedback({"prediction_id": "a", "label": 1})  # the latest wins, counted
    assert again.updated == 1 and again.feedback[0].updates == 2
    log_feedback([{"prediction_id": "b", "label": 7}, {"prediction_id": "b", "label": 9, "row": 2}])
    frame = read_predictions().set_index(["prediction_id", "row"])
    assert frame.loc[("a", 0), "label"] == 1 and frame.loc[("a", 0), "label_updates"] == 2
    assert [frame.loc[("b", r), "label"] for r in range(3)] == [7, 7, 9]  # row label beats whole
    assert frame.loc[("c", 0), "label"] is None and frame.loc[("c", 0), "label_updates"] == 0
    assert "label" not in read_predictions(with_feedback=False).columns


def test_unknown_id_is_not_found_naming_it_and_records_nothing(ws: loopml.Workspace) -> None:
    log = PredictionLog(ws)
    log.append(record("known"))
    log.close()
    with pytest.raises(NotFound, match="'missing'") as caught:
        log_feedback(
            [{"prediction_id": "known", "label": 1}, {"prediction_id": "missing", "label": 2}]
        )
    assert caught.value.ident == "missing"
    assert ws.store.get_feedback(["known"]) == []


def test_feedback_for_a_prediction_still_queued_or_spooled(ws: loopml.Workspace) -> None:
    log = PredictionLog(ws, flush_interval_s=3600, segment_max_age_s=3600)
    log.start()
    log.append(record("fresh"))  # queued, not flushed, not sealed
    assert log_feedback("fresh", "yes").accepted == 1
    frame = read_predictions()  # read from the spool before it is sealed
    assert list(frame["label"]) == ["yes"]
    log.close()
    assert list(read_predictions()["label"]) == ["yes"]


def test_malformed_feedback_is_invalid_input(ws: loopml.Workspace) -> None:
    log = PredictionLog(ws)
    log.append(record("p"))
    log.close()
    with pytest.raises(InvalidInput, match="missing 'label'"):
        log_feedback({"prediction_id": "p"})
    with pytest.raises(InvalidInput, match="unknown feedback field 'lable'"):
        log_feedback({"prediction_id": "p", "lable": 1})
    with pytest.raises(InvalidInput, match="feedback\\[1\\]"):
        log_feedback([{"prediction_id": "p", "label": 1}, 5])  # type: ignore[list-item]
    with pytest.raises(InvalidInput, match="not JSON"):
        log_feedback("p", object())
    assert log_feedback([]).accepted == 0


def ids(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["prediction_id"])


def test_read_predictions_filters(ws: loopml.Workspace) -> None:
    log = PredictionLog(ws)
    log.append(record("old", time_ms=1_000_000))
    log.append(record("new", time_ms=2_000_000, version=2, deployment="web"))
    log.append(record("other", time_ms=1_500_000, model="churn"))
    log.close()
    assert ids(read_predictions()) == ["new", "old", "other"]
    assert ids(read_predictions("fraud")) == ["new", "old"]
    assert ids(read_predictions("fraud", version=2)) == ["new"]
    assert ids(read_predictions(deployment="web")) == ["new"]
    assert ids(read_predictions(since=1_500_000)) == ["new", "other"]
    assert ids(read_predictions(until=datetime.fromtimestamp(1_400, tz=UTC))) == ["old"]
    assert ids(read_predictions(since="1970-01-01T00:25:00+00:00", until=1_600_000)) == ["other"]
    assert len(read_predictions("nobody")) == 0
    with pytest.raises(InvalidInput, match="not a time"):
        read_predictions(since="yesterday")
