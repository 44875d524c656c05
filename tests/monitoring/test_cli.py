"""``loopml monitor windows`` and ``loopml monitor performance`` on a real prediction log."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml import Workspace
from loopml.entities import FeedbackEntry
from tests.fixtures.cli import Cli
from tests.monitoring.test_windows import _log_segment, _reference


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("LOOPML_HOME", str(home))
    return home


def test_windows_and_performance_commands(run_cli: Cli, home: Path, tmp_path: Path) -> None:
    ws = Workspace.open(home=home)
    try:
        frames = [_log_segment(ws, 0, 1000, 21), _log_segment(ws, 1000, 1000, 22, shift=0.6)]
        whole = pd.concat(frames)
        half = whole.iloc[::2]
        ws.store.log_feedback(
            [
                FeedbackEntry(p, int(y))
                for p, y in zip(half["prediction_id"], half["truth"], strict=True)
            ],
            actor="test",
        )
    finally:
        ws.close()
    reference = tmp_path / "reference.parquet"
    _reference().to_parquet(reference)
    done = run_cli("monitor", "windows", "deployment:web", "--reference", str(reference), "--json")
    assert done.returncode == 1, done.stderr  # the latest window drifted
    body = json.loads(done.stdout)
    assert [w["drifted"] for w in body["windows"]] == [False, True]
    assert body["windows"][1]["drift"]["x"]["drifted"]
    assert body["windows"][0]["labelled"] == 500
    text = run_cli("monitor", "windows", "deployment:web", "--reference", str(reference))
    assert text.returncode == 1 and "monitor windows of deployment:web" in text.stdout
    perf = run_cli("monitor", "performance", "deployment:web", "--window", "1000", "--json")
    assert perf.returncode == 0, perf.stderr
    report = json.loads(perf.stdout)
    assert report["task"] == "classification"
    first = report["windows"][0]
    assert first["labelled_fraction"] == pytest.approx(0.5)
    rows = frames[0].iloc[::2]
    want = float(np.mean(rows["truth"] == rows["out.predict"]))
    assert first["realised"]["accuracy"] == pytest.approx(want)
    table = run_cli("monitor", "performance", "deployment:web")
    assert table.returncode == 0 and "performance of deployment:web" in table.stdout
    bad = run_cli("monitor", "performance", "deployment:web", "--window", "soon")
    assert bad.returncode == 2 and "soon" in bad.stderr
    none = run_cli("monitor", "performance", "deployment:nowhere")
    assert none.returncode == 2


def test_report_html_and_json(run_cli: Cli, home: Path, tmp_path: Path) -> None:
    ws = Workspace.open(home=home)
    try:
        for i in range(3):
            _log_segment(ws, 1000 * i, 1000, 30 + i, shift=0.8 if i == 2 else 0.0)
    finally:
        ws.close()
    reference = tmp_path / "reference.parquet"
    _reference().to_parquet(reference)
    out = tmp_path / "report.html"
    done = run_cli(
        "monitor", "report", "deployment:web", "--reference", str(reference), "--html", str(out)
    )
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert page.startswith("<!doctype html>") and page.count("<svg") >= 4
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<script src" not in page
    assert "drift in x" in page
    body = json.loads(
        run_cli(
            "monitor", "report", "deployment:web", "--reference", str(reference), "--json"
        ).stdout
    )
    assert body["format"] == "loopml.monitor-report/1"
    assert [p["drifted"] for p in body["drift_over_time"]["x"]] == [False, False, True]
    dist = body["distributions"]["x"]
    assert sum(dist["reference"]) == pytest.approx(1.0)
    assert sum(dist["current"]) == pytest.approx(1.0)
    assert set(body["distributions"]["cat"]["labels"]) == {"a", "b", "c"}
    usage = run_cli("monitor", "report", "deployment:web")
    assert usage.returncode == 2 and "--html" in usage.stderr
