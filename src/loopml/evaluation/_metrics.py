"""Metrics by task, and the curves the report plots."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn import metrics as skm

CLASSIFICATION_METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    "ece",
)
REGRESSION_METRICS = ("rmse", "mae", "r2", "mape")
#: Metrics where lower is better (gates and regressions read them the other way round).
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "ece", "rmse", "mae", "mape"})


def positive_scores(proba: np.ndarray) -> np.ndarray:
    """Score of the positive (last) class of a binary problem."""
    return proba[:, -1] if proba.ndim == 2 else proba


def calibration(y_true: np.ndarray, score: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Reliability bins and the expected calibration error (ECE) of binary scores."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(score, edges[1:-1]), 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    mean_score = np.bincount(index, weights=score, minlength=bins).astype(float)
    mean_true = np.bincount(index, weights=y_true.astype(float), minlength=bins).astype(float)
    filled = counts > 0
    mean_score[filled] /= counts[filled]
    mean_true[filled] /= counts[filled]
    ece = float(np.sum(counts[filled] / counts.sum() * np.abs(mean_score - mean_true)[filled]))
    return {
        "ece": ece,
        "mean_predicted": mean_score[filled].tolist(),
        "fraction_positive": mean_true[filled].tolist(),
        "count": counts[filled].tolist(),
    }


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, classes: np.ndarray
) -> dict[str, float]:
    """Accuracy, precision, recall, F1, ROC-AUC, PR-AUC, log loss, Brier and ECE.

    Binary problems use the last class as positive; multi-class ones macro-average and
    report one-vs-rest ROC-AUC (Brier, PR-AUC and ECE are binary only).
    """
    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    kw: dict[str, Any] = {"average": average, "zero_division": 0}
    if binary:
        kw["pos_label"] = classes[-1]
    out = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "precision": float(skm.precision_score(y_true, y_pred, **kw)),
        "recall": float(skm.recall_score(y_true, y_pred, **kw)),
        "f1": float(skm.f1_score(y_true, y_pred, **kw)),
    }
    if proba is None:
        return out
    present = np.unique(y_true)
    if binary:
        positive = (y_true == classes[-1]).astype(int)
        score = positive_scores(proba)
        out["roc_auc"] = float(skm.roc_auc_score(positive, score)) if len(present) > 1 else math.nan
        out["pr_auc"] = (
            float(skm.average_precision_score(positive, score)) if len(present) > 1 else math.nan
        )
        out["brier"] = float(skm.brier_score_loss(positive, score))
        out["ece"] = calibration(positive, score)["ece"]
    elif len(present) == len(classes):
        out["roc_auc"] = float(
            skm.roc_auc_score(y_true, proba, multi_class="ovr", average="macro", labels=classes)
        )
    out["log_loss"] = float(skm.log_loss(y_true, proba, labels=classes))
    return out


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE, R² and MAPE."""
    return {
        "rmse": float(math.sqrt(skm.mean_squared_error(y_true, y_pred))),
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
        "r2": float(skm.r2_score(y_true, y_pred)) if len(y_true) > 1 else math.nan,
        "mape": float(skm.mean_absolute_percentage_error(y_true, y_pred)),
    }


def curves(
    y_true: np.ndarray, proba: np.ndarray | None, classes: np.ndarray, y_pred: np.ndarray
) -> dict[str, Any]:
    """ROC, PR and calibration curves (binary) and the confusion matrix, for plots."""
    out: dict[str, Any] = {
        "labels": [str(c) for c in classes],
        "confusion_matrix": skm.confusion_matrix(y_true, y_pred, labels=classes).tolist(),
    }
    if proba is not None and len(classes) == 2 and len(np.unique(y_true)) == 2:
        positive = (y_true == classes[-1]).astype(int)
        score = positive_scores(proba)
        fpr, tpr, _ = skm.roc_curve(positive, score)
        precision, recall, _ = skm.precision_recall_curve(positive, score)
        step = max(1, len(fpr) // 200)
        out["roc"] = {"x": fpr[::step].tolist() + [1.0], "y": tpr[::step].tolist() + [1.0]}
        step = max(1, len(recall) // 200)
        out["pr"] = {"x": recall[::step].tolist(), "y": precision[::step].tolist()}
        cal = calibration(positive, score)
        out["calibration"] = {"x": cal["mean_predicted"], "y": cal["fraction_positive"]}
    return out
