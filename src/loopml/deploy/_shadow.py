"""The shadow report: the shadow arm's answers beside the served ones, row by row.

A shadow copy is logged with the same ``prediction_id`` (and row numbers) as the request
it copies, under the shadow arm's name, so the report pairs log rows by
``(prediction_id, row)`` between the stable arm and the shadow arm: agreement of the
predictions, score deltas, latency deltas per request, error counts and, for the pairs
whose label has arrived, each arm's realised metric and the delta.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from loopml.deploy._analysis import load_analysis
from loopml.deploy._samples import (
    live_values,
    numbers,
    prediction_column,
    read_window,
    requests,
    score_column,
)
from loopml.workspace import current_workspace

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd

    from loopml.workspace import Workspace


def _stats(values: np.ndarray[Any, Any]) -> dict[str, float | None]:
    values = values[np.isfinite(values)]
    if not values.size:
        return {"mean": None, "p50": None, "p95": None, "max_abs": None}
    return {
        "mean": float(values.mean()),
        "p50": float(np.percentile(values, 50)),
        "p95": float(np.percentile(values, 95)),
        "max_abs": float(np.abs(values).max()),
    }


@dataclass(frozen=True)
class ShadowReport:
    """How the shadow arm compares with the stable arm on the same requests.

    Attributes:
        deployment: The deployment's name.
        stable: The stable arm's name.
        shadow: The shadow arm's name.
        requests: Stable requests in the window.
        paired_rows: Rows answered by both arms (paired by prediction id and row).
        unpaired_rows: Stable rows with no shadow copy in the log (copies dropped; a
            failed copy is logged, and counted in ``errors``).
        agreement_rate: Share of paired rows where the predictions are equal (None: none).
        disagreements: Paired rows that differ.
        prediction: The output compared for agreement.
        score: The output compared as a score ("" none).
        score_delta: Shadow minus stable score per paired row: mean, p50, p95, max_abs.
        latency_ms: Per paired request: each arm's p50 and p95 and the delta's stats.
        errors: Failed requests per arm.
        labelled_rows: Paired rows with a label.
        metrics: Per realised metric (``accuracy``, ``abs_error``): stable, shadow, delta.
    """

    deployment: str
    stable: str
    shadow: str
    requests: int
    paired_rows: int
    unpaired_rows: int
    agreement_rate: float | None
    disagreements: int
    prediction: str
    score: str
    score_delta: dict[str, float | None] = field(default_factory=dict)
    latency_ms: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    labelled_rows: int = 0
    metrics: dict[str, dict[str, float | None]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "deployment": self.deployment,
            "stable": self.stable,
            "shadow": self.shadow,
            "requests": self.requests,
            "paired_rows": self.paired_rows,
            "unpaired_rows": self.unpaired_rows,
            "agreement_rate": self.agreement_rate,
            "disagreements": self.disagreements,
            "prediction": self.prediction,
            "score": self.score,
            "score_delta": self.score_delta,
            "latency_ms": self.latency_ms,
            "errors": self.errors,
            "labelled_rows": self.labelled_rows,
            "metrics": self.metrics,
        }


def _ms(value: float | datetime | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    return int(value.timestamp() * 1000)


def _answered(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["error"].isna()] if "error" in frame.columns else frame


def compare_arms(
    frame: pd.DataFrame,
    *,
    deployment: str,
    stable: str,
    shadow: str,
    score: str = "",
    prediction: str = "",
) -> ShadowReport:
    """The report on log rows already read (pure; see :func:`shadow_report`)."""
    base = frame[frame["arm"] == stable] if len(frame) else frame
    copy = frame[frame["arm"] == shadow] if len(frame) else frame
    errors = {
        arm: int(requests(rows)["error"].notna().sum()) if len(rows) else 0
        for arm, rows in ((stable, base), (shadow, copy))
    }
    keys = ["prediction_id", "row"]
    pairs = _answered(base).merge(_answered(copy), on=keys, suffixes=("", "@shadow"))
    unpaired = len(base) - len(base.merge(copy[keys], on=keys)) if len(base) else 0
    pred = prediction_column(base if len(base) else frame, prediction)
    sc = score_column(_answered(base), score) if len(base) else ""
    agree, differ = None, 0
    if len(pairs) and pred and f"out.{pred}@shadow" in pairs.columns:
        left = [str(v) for v in pairs[f"out.{pred}"]]
        right = [str(v) for v in pairs[f"out.{pred}@shadow"]]
        differ = sum(a != b for a, b in zip(left, right, strict=True))
        agree = 1.0 - differ / len(pairs)
    score_delta = _stats(np.zeros(0))
    if len(pairs) and sc and f"out.{sc}@shadow" in pairs.columns:
        score_delta = _stats(numbers(pairs[f"out.{sc}@shadow"]) - numbers(pairs[f"out.{sc}"]))
    per_request = requests(pairs) if len(pairs) else pairs
    latency: dict[str, Any] = {"stable": {}, "shadow": {}, "delta": _stats(np.zeros(0))}
    if len(per_request):
        s_lat = numbers(per_request["latency_ms"])
        c_lat = numbers(per_request["latency_ms@shadow"])
        latency = {
            "stable": {"p50": float(np.percentile(s_lat, 50)),
                       "p95": float(np.percentile(s_lat, 95))},
            "shadow": {"p50": float(np.percentile(c_lat, 50)),
                       "p95": float(np.percentile(c_lat, 95))},
            "delta": _stats(c_lat - s_lat),
        }  # fmt: skip
    labelled = int((pairs["label_updates"] > 0).sum()) if "label_updates" in pairs else 0
    metrics: dict[str, dict[str, float | None]] = {}
    if labelled:
        both = pairs[pairs["label_updates"] > 0]
        shadow_rows = both[[*keys, "label", "label_updates"]].copy()
        for column in both.columns:
            if column.endswith("@shadow"):
                shadow_rows[column.removesuffix("@shadow")] = both[column]
        for name in ("accuracy", "abs_error"):
            a = live_values(both, name, score=sc, prediction=pred)
            b = live_values(shadow_rows, name, score=sc, prediction=pred)
            if a.size and b.size:
                sa, sb = float(a.mean()), float(b.mean())
                metrics[name] = {"stable": sa, "shadow": sb, "delta": sb - sa}
    return ShadowReport(
        deployment, stable, shadow, int(len(requests(base))) if len(base) else 0,
        int(len(pairs)), int(unpaired), agree, int(differ), pred, sc, score_delta, latency,
        errors, labelled, metrics,
    )  # fmt: skip


def shadow_report(
    name: str,
    *,
    since: float | datetime | None = None,
    until: float | datetime | None = None,
    shadow: str | None = None,
    workspace: Workspace | None = None,
) -> ShadowReport:
    """Compare the shadow arm of deployment ``name`` with its stable arm, from the log.

    Args:
        name: The deployment.
        since: Only rows at or after this time (unix ms or a datetime; default: its
            creation).
        until: Only rows before this time.
        shadow: The arm compared (default: the deployment's second arm).
        workspace: Its workspace (default: the current one).
    """
    ws = workspace or current_workspace()
    dep = ws.store.get_deployment(name)
    spec = load_analysis(dep.analysis) if dep.analysis else None
    stable = spec.stable if spec else dep.arms[0].name
    other = shadow or (dep.arms[1].name if len(dep.arms) > 1 else "shadow")
    start = _ms(since)
    frame = read_window(ws, name, dep.created_at_ms if start is None else start, _ms(until))
    return compare_arms(
        frame, deployment=name, stable=stable, shadow=other,
        score=spec.score if spec else "", prediction=spec.prediction if spec else "",
    )  # fmt: skip
