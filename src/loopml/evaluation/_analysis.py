"""Model analysis (permutation importance, partial dependence) and leakage checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

_MAX_ROWS = 5000


def permutation_importance(
    frame: pd.DataFrame,
    score: Callable[[pd.DataFrame], float],
    base: float,
    *,
    lower_is_better: bool,
    repeats: int = 3,
    seed: int = 0,
) -> dict[str, float]:
    """Mean metric drop when each feature's values are shuffled (higher = more important)."""
    rng = np.random.default_rng(seed)
    out = {}
    for column in frame.columns:
        drops = []
        for _ in range(repeats):
            shuffled = frame.copy()
            shuffled[column] = frame[column].to_numpy()[rng.permutation(len(frame))]
            value = score(shuffled)
            drops.append((value - base) if lower_is_better else (base - value))
        out[str(column)] = float(np.mean(drops))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def partial_dependence(
    frame: pd.DataFrame,
    predict_score: Callable[[pd.DataFrame], np.ndarray],
    columns: list[str],
    *,
    grid: int = 10,
) -> dict[str, dict[str, list[Any]]]:
    """Mean prediction as each column is set to a grid of values (quantiles or top values)."""
    out = {}
    sample = frame.head(1000)
    for column in columns:
        values = frame[column]
        if values.dtype.kind in "iuf":
            points = np.unique(np.quantile(values.dropna(), np.linspace(0.05, 0.95, grid)))
            if values.dtype.kind in "iu":
                points = np.unique(np.round(points)).astype(values.dtype)
        else:
            points = values.value_counts().index[:grid].to_numpy()
        means = []
        for point in points:
            changed = sample.copy()
            changed[column] = point
            means.append(float(np.mean(predict_score(changed))))
        out[column] = {"x": [p.item() if hasattr(p, "item") else p for p in points], "y": means}
    return out


def _feature_auc(feature: np.ndarray, target: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if len(np.unique(target)) != 2 or len(np.unique(feature)) < 2:
        return 0.5
    auc = float(roc_auc_score(target, feature))
    return max(auc, 1.0 - auc)


def leakage(
    eval_frame: pd.DataFrame,
    target: np.ndarray,
    *,
    task: str,
    train_frame: pd.DataFrame | None = None,
    train_target: np.ndarray | None = None,
    timestamp_column: str | None = None,
    threshold: float = 0.99,
) -> list[dict[str, Any]]:
    """Findings: rows shared with the training data, single features that predict the
    target almost perfectly, and evaluation rows older than training rows."""
    import pandas as pd

    findings: list[dict[str, Any]] = []
    features = [c for c in eval_frame.columns if c != timestamp_column]
    if train_frame is not None:
        common = [c for c in features if c in train_frame.columns]
        seen = set(pd.util.hash_pandas_object(train_frame[common], index=False).tolist())
        hashes = pd.util.hash_pandas_object(eval_frame[common], index=False)
        shared = int(hashes.isin(seen).sum())
        if shared:
            findings.append(
                {
                    "check": "shared_rows",
                    "detail": f"{shared} evaluation row(s) also appear in the training data",
                    "value": shared,
                }
            )
    binary = task == "classification" and len(np.unique(target)) == 2
    positive = target == np.unique(target)[-1] if binary else None
    half = len(eval_frame) // 2
    for column in features[:200]:
        values = eval_frame[column]
        if binary and positive is not None:
            if values.dtype.kind in "iufb":
                strength = _feature_auc(values.to_numpy(dtype=float, na_value=0.0), positive)
            else:
                # Target rate per category, learnt on one half and scored on the other, so an
                # id-like column cannot look predictive by memorising its own rows.
                rates = pd.Series(positive[:half]).groupby(values.iloc[:half].to_numpy()).mean()
                encoded = values.iloc[half:].map(rates).fillna(positive[:half].mean())
                strength = _feature_auc(encoded.to_numpy(dtype=float), positive[half:])
            measure = "roc_auc"
        elif task == "regression" and values.dtype.kind in "iuf":
            strength = abs(
                float(
                    pd.Series(values.to_numpy(dtype=float)).corr(
                        pd.Series(target, dtype=float), method="spearman"
                    )
                )
            )
            measure = "spearman"
        else:
            continue
        if strength >= threshold:
            findings.append(
                {
                    "check": "predictive_feature",
                    "detail": f"feature {column!r} alone predicts the target "
                    f"({measure} {strength:.4f})",
                    "value": strength,
                    "feature": str(column),
                }
            )
    if timestamp_column is not None and train_frame is not None:
        if timestamp_column in train_frame.columns and timestamp_column in eval_frame.columns:
            latest_train = train_frame[timestamp_column].max()
            earlier = int((eval_frame[timestamp_column] < latest_train).sum())
            if earlier:
                findings.append(
                    {
                        "check": "time_order",
                        "detail": f"{earlier} evaluation row(s) are older than the newest "
                        f"training row ({latest_train})",
                        "value": earlier,
                    }
                )
    return findings
