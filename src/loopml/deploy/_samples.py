"""Per-arm samples of a deployment read from the prediction log, for the judge and the tests.

One measurement interval of a deployment is the prediction-log rows whose ``time_ms`` is
in ``[since_ms, until_ms)``. From them, per arm:

- ``error_rate``: one 0/1 per request (the ``error`` column: model, deadline, overloaded);
- ``latency_p95`` / ``latency_p99``: one ``latency_ms`` per request;
- ``score_shift``: one score per answered row (the spec's ``score`` output, else a column
  called ``proba``/``probability``/``score``, else the first numeric output; a
  ``predict_proba`` list gives its last class);
- a live metric, per labelled row: ``accuracy`` (prediction == label), ``abs_error`` /
  ``mae``, ``squared_error`` / ``mse`` (score against label), and any other name the
  fed-back label itself as a number (or that key of a label mapping), e.g. a conversion.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from loopml.deploy._analysis import AnalysisSpec
    from loopml.workspace import Workspace

_SCORE_NAMES = ("proba", "probability", "probabilities", "score", "scores", "predict_proba")
_PREDICTION_NAMES = ("predict", "prediction", "label", "class", "predictions")
ACCURACY = ("accuracy",)
ABS_ERROR = ("abs_error", "mae")
SQUARED_ERROR = ("squared_error", "mse")


def read_window(
    workspace: Workspace, deployment: str, since_ms: int, until_ms: int | None
) -> pd.DataFrame:
    """The deployment's prediction-log rows with ``since_ms <= time_ms < until_ms``."""
    from loopml.serving import read_predictions

    frame = read_predictions(
        deployment=deployment,
        since=int(since_ms),
        until=None if until_ms is None else int(until_ms) - 1,
        workspace=workspace,
    )
    if len(frame) and "time_ms" in frame.columns:
        frame = frame[frame["time_ms"] >= since_ms]
        if until_ms is not None:
            frame = frame[frame["time_ms"] < until_ms]
    return frame


def _scalar(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, list | tuple | np.ndarray):
        return _scalar(value[-1]) if len(value) else math.nan
    if isinstance(value, dict):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def numbers(series: pd.Series) -> np.ndarray[Any, Any]:
    """A column as floats (lists give their last element; anything else NaN)."""
    if series.dtype.kind in "biuf":
        return np.asarray(series, dtype=float)
    return np.asarray([_scalar(v) for v in series], dtype=float)


def _outputs(frame: pd.DataFrame) -> list[str]:
    return [c.removeprefix("out.") for c in frame.columns if c.startswith("out.")]


def score_column(frame: pd.DataFrame, wanted: str = "") -> str:
    """The output judged as the score ("" when the frame has no numeric output)."""
    outputs = _outputs(frame)
    if wanted:
        return wanted if wanted in outputs else ""
    for name in (*_SCORE_NAMES, *outputs):
        if name in outputs and np.isfinite(numbers(frame[f"out.{name}"])).any():
            return name
    return ""


def prediction_column(frame: pd.DataFrame, wanted: str = "") -> str:
    """The output compared with the label by ``accuracy`` ("" when none)."""
    outputs = _outputs(frame)
    if wanted:
        return wanted if wanted in outputs else ""
    return next((n for n in _PREDICTION_NAMES if n in outputs), outputs[0] if outputs else "")


def _label_numbers(labels: pd.Series, key: str) -> np.ndarray[Any, Any]:
    if labels.dtype.kind in "biuf":
        return np.asarray(labels, dtype=float)

    def one(value: Any) -> float:
        if isinstance(value, dict):
            value = value.get(key)
        if isinstance(value, bool):
            return float(value)
        return _scalar(value)

    return np.asarray([one(v) for v in labels], dtype=float)


def _same(a: Any, b: Any) -> bool:
    fa, fb = _scalar(a), _scalar(b)
    if math.isfinite(fa) and math.isfinite(fb):
        return fa == fb
    return str(a) == str(b)


def live_values(
    frame: pd.DataFrame, metric: str, *, score: str = "", prediction: str = ""
) -> np.ndarray[Any, Any]:
    """Per labelled, answered row: the live metric's value (see the module docstring)."""
    if not len(frame) or "label_updates" not in frame.columns:
        return np.zeros(0)
    rows = frame[frame["label_updates"] > 0]
    if "error" in rows.columns:
        rows = rows[rows["error"].isna()]
    if not len(rows):
        return np.zeros(0)
    if metric in ACCURACY:
        column = prediction_column(rows, prediction)
        if not column:
            return np.zeros(0)
        values = [
            float(_same(p, y)) for p, y in zip(rows[f"out.{column}"], rows["label"], strict=True)
        ]
        return np.asarray(values, dtype=float)
    labels = _label_numbers(rows["label"], metric)
    if metric in ABS_ERROR + SQUARED_ERROR:
        column = score_column(rows, score)
        if not column:
            return np.zeros(0)
        diff = numbers(rows[f"out.{column}"]) - labels
        out = np.abs(diff) if metric in ABS_ERROR else diff**2
    else:
        out = labels
    return np.asarray(out[np.isfinite(out)])


def requests(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per request (its first row): for errors and latencies."""
    if not len(frame):
        return frame
    return frame.drop_duplicates("prediction_id", keep="first")


def arm_samples(frame: pd.DataFrame, spec: AnalysisSpec) -> dict[str, dict[str, list[float]]]:
    """Arm -> metric -> this interval's samples, for :func:`~loopml.deploy.judge_interval`.

    Arms with no rows are left out, so a canary at 100 % is judged on its absolute bounds.
    """
    out: dict[str, dict[str, list[float]]] = {}
    if not len(frame) or "arm" not in frame.columns:
        return out
    for arm, rows in frame.groupby("arm", sort=True):
        per_request = requests(rows)
        errors = per_request["error"].notna() if "error" in per_request.columns else None
        answered = rows[rows["error"].isna()] if "error" in rows.columns else rows
        samples: dict[str, list[float]] = {}
        for check in spec.metrics:
            if check.kind == "error_rate":
                values = np.zeros(len(per_request)) if errors is None else errors.to_numpy(float)
            elif check.kind == "latency":
                ok = per_request if errors is None else per_request[~errors]
                values = numbers(ok["latency_ms"])
            elif check.kind == "score_shift":
                column = score_column(answered, spec.score)
                values = numbers(answered[f"out.{column}"]) if column else np.zeros(0)
            else:
                values = live_values(rows, check.name, score=spec.score, prediction=spec.prediction)
            samples[check.name] = [float(v) for v in values if math.isfinite(v)]
        out[str(arm)] = samples
    return out
