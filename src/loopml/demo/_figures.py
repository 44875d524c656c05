"""The loop's figures from the prediction log and its labels, and the demo's HTML report.

Every figure is measured, not assumed: each row the demo sent is found again in the
prediction log by its prediction id and row, with the version and arm that answered it and
the label fed back for it. Live ROC-AUC (the model's gate metric; with about 2 % fraud,
accuracy barely moves whatever the model does) and accuracy are computed per phase and
over time. The report reuses the monitoring report's plots and embeds the monitor report
of the deployment the champion was served on.
"""

from __future__ import annotations

import html
import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from loopml.monitoring import lines_svg, monitor_report, render_html
from loopml.serving import read_predictions

if TYPE_CHECKING:
    from pathlib import Path

    from loopml.demo._loop import LoopRun
    from loopml.workspace import Workspace


def served_rows(run: LoopRun, ws: Workspace) -> pd.DataFrame:
    """One row per sent stream row: version, arm, deployment, score, prediction, label."""
    ids = run.traffic.ids[: run.traffic.cursor]
    sent = pd.DataFrame(
        [(i, p[0], p[1]) for i, p in enumerate(ids) if p is not None],
        columns=["stream_row", "prediction_id", "row"],
    )
    if sent.empty:
        return sent
    log = read_predictions("fraud", prediction_ids=sorted(set(sent["prediction_id"])), workspace=ws)
    score = log["out.predict_proba"].map(lambda v: float(v[-1]) if len(v) else math.nan)
    log = log.assign(score=score)[
        ["prediction_id", "row", "version", "arm", "deployment", "score", "out.predict", "label"]
    ]
    out = sent.merge(log, on=["prediction_id", "row"], how="left")
    return out.sort_values("stream_row").reset_index(drop=True)


def live_metrics(rows: pd.DataFrame) -> dict[str, float | None]:
    """ROC-AUC and accuracy of labelled rows (None when a class is missing)."""
    labelled = rows[rows["label"].notna()]
    if labelled.empty:
        return {"auc": None, "accuracy": None, "rows": 0}
    truth = labelled["label"].astype(int).to_numpy()
    predicted = labelled["out.predict"].astype(int).to_numpy()
    auc = (
        float(roc_auc_score(truth, labelled["score"].to_numpy()))
        if 0 < truth.sum() < len(truth)
        else None
    )
    return {"auc": auc, "accuracy": float(np.mean(truth == predicted)), "rows": len(labelled)}


def phase_metrics(
    run: LoopRun, rows: pd.DataFrame, *, before: int, after: int | None
) -> dict[str, dict[str, float | None]]:
    """Live metrics per phase: before the drift (the champion, version ``before``); after
    it, every drifted row the old champion answered (the canary's stable arm too); after
    recovery, the rows the promoted version ``after`` answered once promoted."""
    onset = run.stream.onset
    out = {
        "before drift": live_metrics(rows[rows["stream_row"] < onset]),
        "after drift": live_metrics(
            rows[(rows["stream_row"] >= onset) & (rows["version"] == before)]
        ),
    }
    if after is not None and run.promoted_rows is not None:
        promoted_at = onset + run.promoted_rows
        out["after recovery"] = live_metrics(
            rows[(rows["stream_row"] >= promoted_at) & (rows["version"] == after)]
        )
    return out


def over_time(rows: pd.DataFrame, every: int) -> list[dict[str, Any]]:
    """Live metrics over consecutive stretches of ``every`` rows, with the version served."""
    out = []
    for lo in range(0, int(rows["stream_row"].max()) + 1 if len(rows) else 0, every):
        part = rows[(rows["stream_row"] >= lo) & (rows["stream_row"] < lo + every)]
        if part.empty:
            continue
        versions = sorted({int(v) for v in part["version"].dropna()})
        out.append({"from_row": lo, "versions": versions, **live_metrics(part)})
    return out


def write_report(
    path: Path, figures: dict[str, Any], timeline: list[dict[str, Any]], ws: Workspace
) -> Path:
    """The demo's HTML report: live accuracy over time, the phases, the monitor report."""
    xs = [float(p["from_row"]) for p in timeline]
    onset = figures["drift_onset_row"]
    promoted_at = figures.get("promoted_at_row")
    after = [x >= onset for x in xs]
    served_new = [
        bool(p["versions"]) and max(p["versions"]) > figures["champion_before"] for p in timeline
    ]
    auc_plot = lines_svg(
        "live ROC-AUC from feedback, by stretch of rows (red: drifted traffic)",
        xs,
        {"ROC-AUC": [p["auc"] for p in timeline]},
        {"ROC-AUC": after},
    )
    acc_plot = lines_svg(
        "live accuracy from feedback (red: the retrained version answered)",
        xs,
        {"accuracy": [p["accuracy"] for p in timeline]},
        {"accuracy": served_new},
    )
    phases = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{_fmt(m['auc'])}</td><td>{_fmt(m['accuracy'])}"
        f"</td><td>{m['rows']}</td></tr>"
        for name, m in figures["phases"].items()
    )
    monitor = render_html(
        monitor_report(figures["deployment"], window=str(figures["window_rows"]), workspace=ws)
    )
    body = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8"><title>loopml demo: the closed loop</title>',
        "<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}"
        "td,th{padding:2px 10px;text-align:left}"
        "iframe{width:100%;height:900px;border:1px solid #ccc}"
        "</style></head><body>",
        "<h1>The closed loop, measured</h1>",
        f"<p>Drift began at stream row {onset:,}; the monitor detected it "
        f"{_rows(figures.get('detected_after_rows'))} later; the retrained version was "
        f"promoted {_rows(figures.get('promoted_after_rows'))} after the onset"
        f"{'' if promoted_at is None else f' (row {promoted_at:,})'}.</p>",
        "<table><tr><th>phase</th><th>live ROC-AUC</th><th>accuracy</th>"
        "<th>labelled rows</th></tr>",
        phases,
        "</table>",
        f"<figure>{auc_plot}</figure><figure>{acc_plot}</figure>",
        "<h2>Monitor report of the champion's deployment</h2>",
        f'<iframe srcdoc="{html.escape(monitor, quote=True)}"></iframe>',
        f'<script type="application/json" id="data">{html.escape(json.dumps(figures, default=str))}'
        "</script></body></html>",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(body), encoding="utf-8")
    return path


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _rows(value: int | None) -> str:
    return "never" if value is None else f"{value:,} rows"
