"""Cross-validation whose per-fold and summary scores are logged to a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopml.tracking import TrackingClient, active_run, default_client

if TYPE_CHECKING:
    from collections.abc import Sequence


@dataclass(frozen=True)
class CVResult:
    """Cross-validation scores and the run they were logged to.

    Attributes:
        run_id: The run holding ``cv/<score>`` metrics.
        scores: Score name -> ``{"folds": [...], "mean": m, "std": s}`` (``fit_time`` and
            ``score_time`` included).
    """

    run_id: str
    scores: dict[str, dict[str, Any]]


def cross_validate(
    estimator: Any,
    X: Any,
    y: Any = None,
    *,
    cv: Any = 5,
    scoring: str | Sequence[str] | None = None,
    name: str | None = None,
    client: TrackingClient | None = None,
) -> CVResult:
    """Run scikit-learn cross-validation and log ``cv/<score>`` per fold plus mean and std.

    Logs into the current run, or a new run named ``cv-<Estimator>`` when there is none.

    Args:
        estimator: A scikit-learn estimator (unfitted).
        X: Features.
        y: Target.
        cv: Folds (int) or a scikit-learn splitter.
        scoring: Scorer name(s), e.g. ``["roc_auc", "f1"]`` (default: the estimator's score).
        name: Name of the run made when none is active.
        client: Tracking client (default: the default client).

    Returns:
        The scores per fold with mean and std, and the run id.
    """
    import numpy as np
    from sklearn.model_selection import cross_validate as sk_cross_validate

    scores = sk_cross_validate(estimator, X, y, cv=cv, scoring=scoring)
    current = active_run()
    own = None
    if current is None:
        own = (client or default_client()).start_run(name or f"cv-{type(estimator).__name__}")
    run = own or current
    assert run is not None
    try:
        run.log_params(
            {
                "cv": repr(cv) if not isinstance(cv, int) else cv,
                "cv_estimator": type(estimator).__name__,
            }
        )
        out: dict[str, dict[str, Any]] = {}
        for key, values in scores.items():
            label = key.removeprefix("test_")
            folds: list[float] = [float(v) for v in np.asarray(values)]
            for fold, value in enumerate(folds):
                run.log_metric(f"cv/{label}", value, fold)
            mean, std = float(np.mean(folds)), float(np.std(folds))
            summary = {"folds": folds, "mean": mean, "std": std}
            run.log_metric(f"cv/{label}_mean", mean)
            run.log_metric(f"cv/{label}_std", std)
            out[label] = summary
    except BaseException as exc:
        if own is not None:
            own.__exit__(type(exc), exc, exc.__traceback__)
        raise
    if own is not None:
        own.end()
    return CVResult(run_id=run.id, scores=out)
