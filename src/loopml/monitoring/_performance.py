"""Live performance: realised metrics per window from labels joined by prediction id, and
CBPE-style estimated performance from calibrated scores before the labels arrive.

The input is a prediction-log frame (``loopml.serving.read_predictions``: ``time_ms``,
``out.<name>`` per output and, with feedback, ``label``, ``label_updates`` and
``label_time_ms``) or any DataFrame with those columns. Labels are counted as they stand
``as_of`` a time (default: now), so a window's realised metrics are what was knowable then;
labels that arrived after the window closed are counted as late, a label replaced is
counted as a duplicate (the latest wins), rows without one as unlabelled.

Confidence-based performance estimation (NannyML's CBPE): with a calibrated probability
``p`` of the positive class, a row predicted positive is a true positive with probability
``p`` and a false positive with ``1 - p``; expected confusion-matrix counts give expected
accuracy, precision, recall and F1 without a single label. Calibration is fitted on the
reference (isotonic regression of its labels on its scores).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from loopml.errors import InvalidInput
from loopml.monitoring._windows import Windowing, parse_window, window_slices

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

Array = npt.NDArray[np.float64]
CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "auc")
REGRESSION = ("mae", "rmse")


@dataclass(frozen=True)
class WindowPerformance:
    """Performance of one window.

    Attributes:
        start_ms: Start of the window (unix ms).
        end_ms: End of the window (exclusive).
        rows: Predicted rows in the window.
        labelled: Rows with a label as of the report's time.
        late_labels: Of those, labels that arrived after the window ended.
        duplicate_labels: Rows whose label was replaced (the latest one is used).
        realised: Metrics on the labelled rows (None where undefined).
        estimated: CBPE estimates on every row (classification with scores only).
        estimated_std: Standard error of each estimate.
    """

    start_ms: int
    end_ms: int
    rows: int
    labelled: int
    late_labels: int
    duplicate_labels: int
    realised: dict[str, float | None]
    estimated: dict[str, float | None] = field(default_factory=dict)
    estimated_std: dict[str, float | None] = field(default_factory=dict)

    @property
    def labelled_fraction(self) -> float:
        """Share of the window's rows with a label."""
        return self.labelled / self.rows if self.rows else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "rows": self.rows,
            "labelled": self.labelled,
            "labelled_fraction": self.labelled_fraction,
            "late_labels": self.late_labels,
            "duplicate_labels": self.duplicate_labels,
            "realised": dict(self.realised),
            "estimated": dict(self.estimated),
            "estimated_std": dict(self.estimated_std),
        }


@dataclass(frozen=True)
class PerformanceReport:
    """Realised (and estimated) performance per window.

    Attributes:
        task: ``classification`` or ``regression``.
        prediction: The output column holding the prediction.
        score: The output column holding the positive-class probability, if any.
        window: The window plan (``parse_window`` text).
        windows: One entry per window, oldest first.
    """

    task: str
    prediction: str
    score: str | None
    window: str
    windows: tuple[WindowPerformance, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (format ``loopml.performance/1``)."""
        return {
            "format": "loopml.performance/1",
            "task": self.task,
            "prediction": self.prediction,
            "score": self.score,
            "window": self.window,
            "windows": [w.to_dict() for w in self.windows],
        }


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def auc(labels: Array, scores: Array) -> float:
    """Area under the ROC curve (Mann-Whitney, ties averaged); NaN with one class."""
    from scipy.stats import rankdata

    pos = labels == 1
    n1 = int(pos.sum())
    n0 = len(labels) - n1
    if n1 == 0 or n0 == 0:
        return math.nan
    ranks = rankdata(scores)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def classification_metrics(
    truth: Array, predicted: Array, scores: Array | None = None
) -> dict[str, float | None]:
    """Accuracy, precision, recall, F1 (of class 1) and AUC (with scores) of 0/1 arrays."""
    n = len(truth)
    if n == 0:
        return dict.fromkeys(CLASSIFICATION)
    tp = float(np.sum((predicted == 1) & (truth == 1)))
    fp = float(np.sum((predicted == 1) & (truth != 1)))
    fn = float(np.sum((predicted != 1) & (truth == 1)))
    out: dict[str, float | None] = {
        "accuracy": float(np.mean(predicted == truth)),
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
        "auc": None if scores is None else _finite(auc(truth, scores)),
    }
    return out


def regression_metrics(truth: Array, predicted: Array) -> dict[str, float | None]:
    """MAE and RMSE."""
    if len(truth) == 0:
        return dict.fromkeys(REGRESSION)
    err = predicted - truth
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(math.sqrt(np.mean(err * err)))}


@dataclass(frozen=True)
class Calibration:
    """An isotonic map from raw scores to calibrated probabilities of class 1."""

    x: Array
    y: Array

    def __call__(self, scores: Array) -> Array:
        """Calibrated probabilities for ``scores``."""
        return np.clip(np.interp(scores, self.x, self.y), 0.0, 1.0)


def fit_calibration(scores: Any, labels: Any) -> Calibration:
    """Isotonic regression of 0/1 ``labels`` on ``scores`` (pool adjacent violators)."""
    s = np.asarray(scores, float)
    y = np.asarray(labels, float)
    if len(s) == 0 or len(s) != len(y):
        raise InvalidInput(
            "calibration needs as many labels as scores, and at least one",
            hint="Pass the reference's scores and its 0/1 labels.",
        )
    order = np.argsort(s, kind="stable")
    xs, ys = s[order], y[order]
    values: list[float] = []
    weights: list[float] = []
    ends: list[int] = []
    for i, v in enumerate(ys.tolist()):
        values.append(v)
        weights.append(1.0)
        ends.append(i)
        while len(values) > 1 and values[-2] > values[-1]:
            w = weights[-2] + weights[-1]
            v2 = (values[-2] * weights[-2] + values[-1] * weights[-1]) / w
            values[-2:] = [v2]
            weights[-2:] = [w]
            ends[-2:] = [ends[-1]]
    fitted = np.repeat(values, np.diff([-1, *ends]))
    # one knot per distinct score (the mean fit there) keeps np.interp well defined
    knots, first = np.unique(xs, return_index=True)
    sums = np.add.reduceat(fitted, first)
    counts = np.diff([*first, len(xs)])
    return Calibration(knots, sums / counts)


def estimate_from_scores(
    probabilities: Any, predicted: Any | None = None, threshold: float = 0.5
) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """CBPE: expected accuracy, precision, recall and F1, and their standard errors,
    from calibrated probabilities of class 1 (``predicted`` default: ``p >= threshold``)."""
    p = np.asarray(probabilities, float)
    n = len(p)
    if n == 0:
        keys = ("accuracy", "precision", "recall", "f1")
        return dict.fromkeys(keys), dict.fromkeys(keys)
    pred = (p >= threshold) if predicted is None else (np.asarray(predicted) == 1)
    correct = np.where(pred, p, 1 - p)
    tp = float(p[pred].sum())
    fp = float((1 - p[pred]).sum())
    fn = float(p[~pred].sum())
    var_correct = correct * (1 - correct)
    est: dict[str, float | None] = {
        "accuracy": float(correct.mean()),
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
    }
    std: dict[str, float | None] = {
        "accuracy": float(math.sqrt(var_correct.sum()) / n),
        "precision": float(math.sqrt(var_correct[pred].sum()) / pred.sum()) if pred.any() else None,
        "recall": None,
        "f1": None,
    }
    return est, std


def _pick_outputs(
    frame: pd.DataFrame, prediction: str | None, score: str | None
) -> tuple[str, str | None]:
    outs = [c for c in frame.columns if str(c).startswith("out.")]
    if prediction is None:
        named = [c for c in outs if "proba" not in c and "score" not in c]
        if not named:
            raise InvalidInput(
                "no prediction column (out.<name>) in the prediction log",
                hint="Pass prediction='out.<name>'.",
            )
        prediction = named[0]
    if score is None:
        scored = [c for c in outs if ("proba" in c or "score" in c) and c != prediction]
        score = scored[-1] if scored else None
    for name in (prediction, score):
        if name is not None and name not in frame.columns:
            raise InvalidInput(f"column {name!r} is not in the prediction log", column=name)
    return prediction, score


def _task(values: Any, task: str) -> str:
    if task != "auto":
        if task not in ("classification", "regression"):
            raise InvalidInput(f"task {task!r}", hint="Use classification or regression.")
        return task
    arr = np.asarray(values)
    if arr.dtype.kind in "biuO" or (
        arr.dtype.kind == "f" and len(arr) and np.all(np.mod(arr[np.isfinite(arr)], 1) == 0)
    ):
        return "classification" if len(np.unique(arr[:10_000])) <= 20 else "regression"
    return "regression"


def _score_vector(frame: pd.DataFrame, score: str | None) -> Array | None:
    if score is None:
        return None
    values = frame[score].to_numpy()
    if values.dtype == object and len(values) and isinstance(values[0], list | tuple | np.ndarray):
        return np.asarray([float(v[-1]) for v in values])
    return np.asarray(values, float)


def performance(
    log: pd.DataFrame,
    *,
    window: str | Windowing = "1000",
    prediction: str | None = None,
    score: str | None = None,
    label: str = "label",
    task: str = "auto",
    as_of_ms: int | None = None,
    calibration: Calibration | None = None,
    reference: pd.DataFrame | None = None,
) -> PerformanceReport:
    """Realised metrics per window, with CBPE estimates where scores exist.

    Args:
        log: A prediction-log frame (``loopml.serving.read_predictions``) or any frame
            with ``time_ms``, the prediction column and ``label`` (None: unlabelled).
        window: The window plan (``1000``, ``1000/250``, ``1h``, ``1h/15m``).
        prediction: The prediction column (default: the first ``out.`` column that is
            not a probability).
        score: The positive-class probability column (default: an ``out.*proba*`` or
            ``out.*score*`` column; a list per row uses its last element).
        label: The label column.
        task: ``classification``, ``regression`` or ``auto`` (from the predictions).
        as_of_ms: Count only labels that had arrived by then (``label_time_ms``).
        calibration: Calibration of the scores (default: fitted on ``reference``, else
            the scores are taken as calibrated).
        reference: A frame with the same score column and labels to fit the calibration.

    Returns:
        The :class:`PerformanceReport`.
    """
    plan = parse_window(window)
    frame = log.sort_values("time_ms", kind="stable").reset_index(drop=True)
    prediction, score = _pick_outputs(frame, prediction, score)
    kind = _task(frame[prediction].to_numpy(), task)
    times = frame["time_ms"].to_numpy(dtype=np.int64)
    labels = frame[label] if label in frame.columns else None
    has = np.zeros(len(frame), bool) if labels is None else labels.notna().to_numpy().copy()
    label_time = (
        frame["label_time_ms"].astype("float64").to_numpy()
        if "label_time_ms" in frame.columns
        else np.full(len(frame), np.nan)
    )
    if as_of_ms is not None:
        has = has & ~(label_time > as_of_ms)
    updates = (
        frame["label_updates"].to_numpy(dtype=np.int64)
        if "label_updates" in frame.columns
        else has.astype(np.int64)
    )
    scores = _score_vector(frame, score) if kind == "classification" else None
    if scores is not None and calibration is None and reference is not None:
        calibration = fit_calibration(
            _score_vector(reference, score), reference[label].to_numpy(dtype=float)
        )
    probs = None if scores is None else (calibration(scores) if calibration else scores)
    out: list[WindowPerformance] = []
    for lo, hi, start, end in window_slices(times, plan):
        sel = slice(lo, hi)
        mask = has[sel]
        late = int(np.sum(mask & (label_time[sel] >= end)))
        dups = int(np.sum(mask & (updates[sel] > 1)))
        if labels is not None and mask.any():
            truth_raw = labels.iloc[lo:hi][mask].to_numpy()
            pred_raw = frame[prediction].iloc[lo:hi][mask].to_numpy()
        else:
            truth_raw = pred_raw = np.array([])
        if kind == "classification":
            realised = classification_metrics(
                np.asarray(truth_raw, float),
                np.asarray(pred_raw, float),
                None if scores is None else scores[sel][mask],
            )
        else:
            realised = regression_metrics(np.asarray(truth_raw, float), np.asarray(pred_raw, float))
        est: dict[str, float | None] = {}
        std: dict[str, float | None] = {}
        if probs is not None:
            est, std = estimate_from_scores(
                probs[sel], frame[prediction].iloc[lo:hi].to_numpy(dtype=float)
            )
        out.append(
            WindowPerformance(start, end, hi - lo, int(mask.sum()), late, dups, realised, est, std)
        )
    return PerformanceReport(kind, prediction, score, plan.describe(), tuple(out))


def estimate_performance(
    log: pd.DataFrame,
    *,
    window: str | Windowing = "1000",
    prediction: str | None = None,
    score: str | None = None,
    calibration: Calibration | None = None,
    reference: pd.DataFrame | None = None,
    label: str = "label",
) -> PerformanceReport:
    """CBPE estimates per window without looking at any label (``realised`` left empty).

    Same arguments as :func:`performance`; a score column is required.
    """
    frame = log.drop(columns=[c for c in ("label", "label_time_ms") if c in log.columns])
    if label != "label" and label in frame.columns:
        frame = frame.drop(columns=[label])
    report = performance(
        frame,
        window=window,
        prediction=prediction,
        score=score,
        task="classification",
        calibration=calibration,
        reference=reference,
        label=label,
    )
    if report.score is None:
        raise InvalidInput(
            "estimated performance needs a probability column (out.<name>_proba)",
            hint="Pass score='out.<name>' or log the model's predict_proba.",
        )
    return report
