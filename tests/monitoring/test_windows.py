"""Monitor windows from a real prediction log (segments in the artifact store, indexed in
the store): drift from merged per-segment sketches equals drift on the rows, windows
stored with lineage, history never re-read, labels joined for realised metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loopml import Workspace
from loopml.entities import FeedbackEntry, PredictionSegment
from loopml.ids import ObjectKind, ObjectRef, new_id
from loopml.monitoring import (
    _stream,
    compute_windows,
    drift,
    latest_windows,
    window_report,
    window_values,
)

T0 = 1_700_000_000_000


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(home=tmp_path / "home")
    yield workspace
    workspace.close()


def _reference(n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"x": rng.normal(0, 1, n), "cat": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])}
    )


def _log_segment(
    ws: Workspace,
    start: int,
    n: int,
    seed: int,
    shift: float = 0.0,
    step_ms: int = 1000,
    version: int | None = None,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    p = 1 / (1 + np.exp(-2 * x))
    frame = pd.DataFrame(
        {
            "prediction_id": [new_id() for _ in range(n)],
            "row": np.zeros(n, dtype=np.int64),
            "time_ms": T0 + (start + np.arange(n)) * step_ms,
            "model": "fraud",
            "version": pd.array([version] * n, dtype="Int64"),
            "deployment": "web",
            "arm": "stable",
            "latency_ms": np.full(n, 1.5),
            "in.x": x,
            "in.cat": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            "out.predict": (p >= 0.5).astype(np.int64),
            "out.predict_proba": p,
        }
    )
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    data = sink.getvalue()
    digest = ws.artifacts.put(memoryview(data))
    segment = PredictionSegment(
        id=new_id(),
        model="fraud",
        version=version,
        deployment="web",
        digest=digest,
        rows=n,
        predictions=n,
        start_ms=int(frame["time_ms"].min()),
        end_ms=int(frame["time_ms"].max()),
        size=data.size,
    )
    ws.store.add_prediction_segment(segment, list(frame["prediction_id"]))
    frame["truth"] = (rng.random(n) < p).astype(int)
    return frame


def test_count_windows_drift_stored_and_incremental(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = _reference()
    frames = [
        _log_segment(ws, 0, 1000, 1),
        _log_segment(ws, 1000, 1000, 2),
        _log_segment(ws, 2000, 1000, 3, shift=0.5),
        _log_segment(ws, 3000, 1000, 4, shift=0.5),
    ]
    windows = compute_windows("deployment:web", window="1000", reference=ref, workspace=ws)
    assert [w.rows for w in windows] == [1000] * 4
    assert [w.drifted for w in windows] == [False, False, True, True]
    assert windows[2].drift["x"]["drifted"] and not windows[2].drift["cat"]["drifted"]
    assert all(w.complete and w.scope == "deployment:web" for w in windows)
    # the merged sketches give exactly the report drift() gives on the rows themselves
    rows = frames[2].rename(columns={"in.x": "x", "in.cat": "cat"})[["x", "cat"]]
    direct = drift(ref, rows)
    stored = window_report(windows[2], ws)
    for column in ("x", "cat"):
        for a, b in zip(direct.feature(column).tests, stored.feature(column).tests, strict=True):
            assert a.test == b.test
            assert a.effect_size == pytest.approx(b.effect_size, rel=1e-9, abs=1e-12)
            assert a.drifted == b.drifted
    # lineage to the deployment
    ref_w = ObjectRef(ObjectKind.MONITOR_WINDOW, windows[0].id)
    assert ObjectRef(ObjectKind.DEPLOYMENT, "web") in {
        n.edge.src for n in ws.store.upstream(ref_w, depth=1)
    }
    # complete windows are not recomputed and no segment is read again
    reads: list[str] = []
    real = _stream._read_segment

    def counting(workspace: Workspace, segment: PredictionSegment) -> pa.Table:
        reads.append(segment.id)
        return real(workspace, segment)

    monkeypatch.setattr(_stream, "_read_segment", counting)
    assert compute_windows("deployment:web", window="1000", reference=ref, workspace=ws) == []
    assert reads == []
    _log_segment(ws, 4000, 500, 5)
    new = compute_windows("deployment:web", window="1000", reference=ref, workspace=ws)
    assert [(w.rows, w.complete) for w in new] == [(500, False)]
    assert len(reads) == 1  # only the new segment
    values = window_values(windows[2])
    ks = [v for v in values if v.kind == "drift" and v.feature == "x" and v.statistic == "ks"]
    assert len(ks) == 1 and ks[0].alarm and ks[0].window_id == windows[2].id
    assert ks[0].value == pytest.approx(windows[2].drift["x"]["effects"]["ks"])
    assert ks[0].deployment == "web" and ks[0].model == "fraud"
    latest = latest_windows("deployment:web", window="1000", limit=2, workspace=ws)
    assert [w.start_ms for w in latest] == [new[0].start_ms, windows[3].start_ms]


def test_sliding_and_time_windows_and_labels(ws: Workspace) -> None:
    ref = _reference()
    frames = [_log_segment(ws, 0, 1500, 11), _log_segment(ws, 1500, 1500, 12)]
    sliding = compute_windows("deployment:web", window="1000/500", reference=ref, workspace=ws)
    assert [w.rows for w in sliding] == [1000] * 5
    assert not any(w.drifted for w in sliding)
    whole = pd.concat(frames)
    labelled = whole.iloc[:1800]  # the rest has no label yet
    ws.store.log_feedback(
        [
            FeedbackEntry(p, int(y))
            for p, y in zip(labelled["prediction_id"], labelled["truth"], strict=True)
        ],
        actor="test",
    )
    ws.store.log_feedback(  # a replaced label: the latest wins
        [
            FeedbackEntry(p, int(y))
            for p, y in zip(whole["prediction_id"][:10], whole["truth"][:10], strict=True)
        ],
        actor="test",
    )
    hourly = compute_windows("deployment:web", window="1h", reference=ref, workspace=ws)
    assert sum(w.rows for w in hourly) == 3000
    assert [w.end_ms - w.start_ms for w in hourly] == [3_600_000] * len(hourly)
    first = hourly[0]
    rows = whole[(whole["time_ms"] >= first.start_ms) & (whole["time_ms"] < first.end_ms)]
    assert first.rows == len(rows)
    truth = rows.iloc[: min(len(rows), 1800)]
    assert first.labelled == len(truth)
    want = float(np.mean(truth["truth"] == truth["out.predict"]))
    assert first.realised["accuracy"] == pytest.approx(want)
    assert abs(first.estimated["accuracy"] - want) < 0.05
    kinds = {(v.kind, v.metric) for v in window_values(first)}
    assert {("metric", "accuracy"), ("estimated_metric", "accuracy")} <= kinds
    assert not hourly[-1].complete


def test_prediction_drift_on_the_model_outputs(ws: Workspace) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, 20_000)
    reference = pd.DataFrame({"x": x, "predict_proba": 1 / (1 + np.exp(-2 * x))})
    _log_segment(ws, 0, 1000, 41)
    _log_segment(ws, 1000, 1000, 42, shift=0.5)
    windows = compute_windows("deployment:web", window="1000", reference=reference, workspace=ws)
    assert [w.drift["predict_proba"]["role"] for w in windows] == ["prediction"] * 2
    assert [w.drift["predict_proba"]["drifted"] for w in windows] == [False, True]
    report = window_report(windows[1], ws)
    assert [f.column for f in report.predictions] == ["predict_proba"]


def test_windows_link_to_the_model_version(ws: Workspace) -> None:
    from sklearn.linear_model import LogisticRegression

    from loopml.registry import register_model

    ref = _reference(2000)
    x = ref[["x"]]
    model = LogisticRegression().fit(x, (ref["x"] > 0).astype(int))
    version = register_model(
        "fraud", model, input_example=x.head(3), store=ws.store, artifacts=ws.artifacts
    )
    _log_segment(ws, 0, 1000, 61, version=version.number)
    (window,) = compute_windows("deployment:web", window="1000", reference=ref, workspace=ws)
    assert (window.model, window.version) == ("fraud", version.number)
    sources = {
        n.edge.src
        for n in ws.store.upstream(ObjectRef(ObjectKind.MONITOR_WINDOW, window.id), depth=1)
    }
    assert ObjectRef(ObjectKind.MODEL_VERSION, version.id) in sources
    assert ObjectRef(ObjectKind.DEPLOYMENT, "web") in sources
