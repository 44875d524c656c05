"""Autologging for scikit-learn, xgboost and lightgbm estimators.

``autolog()`` wraps the ``fit`` method of every estimator class that defines one. A
top-level ``fit`` (not one called from inside another ``fit``, such as a Pipeline's steps
or a grid search's candidates) logs the estimator's params, training metrics, the digest
of the training data, and the fitted model with its input signature — into the current
run, or into a new run when there is none (a child run when the current run already holds
an autologged model).

Patching classes is process-wide by nature; it is the one place tracking keeps state
outside a ContextVar, and ``autolog(disable=True)`` undoes it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import inspect
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopml.errors import Conflict, InvalidInput
from loopml.tracking._fluent import active_run, start_run

if TYPE_CHECKING:
    from collections.abc import Callable

    from loopml.tracking._client import TrackingClient
    from loopml.tracking._run import ActiveRun

_log = logging.getLogger("loopml.tracking")
_in_fit: ContextVar[bool] = ContextVar("loopml_autolog_in_fit", default=False)
_FRAMEWORKS = ("sklearn", "xgboost", "lightgbm")
_EXTRA_CLASSES = {
    "xgboost": (
        "XGBModel",
        "XGBClassifier",
        "XGBRegressor",
        "XGBRanker",
        "XGBRFClassifier",
        "XGBRFRegressor",
    ),
    "lightgbm": ("LGBMModel", "LGBMClassifier", "LGBMRegressor", "LGBMRanker"),
}


@dataclass
class _Config:
    log_models: bool = True
    client: TrackingClient | None = None


_config = _Config()
_patched: dict[type, Callable[..., Any]] = {}


def _estimator_classes(framework: str) -> list[type]:
    if framework == "sklearn":
        from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
        from sklearn.utils import all_estimators

        # all_estimators leaves out the searches; their fit lives on the shared base class
        searches = [c for cls in (GridSearchCV, RandomizedSearchCV) for c in cls.__mro__[:2]]
        return [cls for _, cls in all_estimators()] + searches
    module = importlib.import_module(framework)
    return [getattr(module, n) for n in _EXTRA_CLASSES[framework] if hasattr(module, n)]


def autolog(
    *,
    frameworks: tuple[str, ...] = _FRAMEWORKS,
    log_models: bool = True,
    disable: bool = False,
    client: TrackingClient | None = None,
) -> list[str]:
    """Log every top-level ``fit`` of scikit-learn (and xgboost/lightgbm) estimators.

    Args:
        frameworks: Which of ``"sklearn"``, ``"xgboost"``, ``"lightgbm"`` to patch; ones
            not installed are skipped.
        log_models: Store the fitted model with its signature (``log_model``).
        disable: Undo the patching.
        client: Tracking client for runs autolog starts (default: the default client).

    Returns:
        The frameworks now patched.

    Raises:
        InvalidInput: An unknown framework name.

    Example:
        >>> import loopml
        >>> loopml.autolog()  # doctest: +SKIP
    """
    unknown = sorted(set(frameworks) - set(_FRAMEWORKS))
    if unknown:
        raise InvalidInput(f"unknown autolog framework(s) {unknown}", hint=f"Use {_FRAMEWORKS}.")
    if disable:
        for cls, saved in _patched.items():
            cls.fit = saved  # type: ignore[attr-defined]
        _patched.clear()
        return []
    _config.log_models = log_models
    _config.client = client
    done = []
    for framework in frameworks:
        try:
            classes = _estimator_classes(framework)
        except ImportError:
            continue
        for cls in classes:
            # patch the class that defines the fit this estimator runs (often a base class)
            owner = next((k for k in cls.__mro__ if "fit" in k.__dict__), None)
            original: Any = None if owner is None else owner.__dict__["fit"]
            if owner is not None and callable(original) and owner not in _patched:
                _patched[owner] = original
                owner.fit = _wrap(original)  # type: ignore[attr-defined]
        done.append(framework)
    return done


def _wrap(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _in_fit.get():
            return original(self, *args, **kwargs)
        token = _in_fit.set(True)
        try:
            return _logged_fit(original, self, args, kwargs)
        finally:
            _in_fit.reset(token)

    return fit


def _logged_fit(
    original: Callable[..., Any], est: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    current = active_run()
    own: ActiveRun | None = None
    if current is None or current.autologged:
        own = start_run(type(est).__name__, parent=current, client=_config.client)
    run = own or current
    assert run is not None
    run.autologged = True
    try:
        result = original(est, *args, **kwargs)
        X = args[0] if args else kwargs.get("X")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        _record(run, est, X, y)
    except BaseException as exc:
        if own is not None:
            own.__exit__(type(exc), exc, exc.__traceback__)
        raise
    if own is not None:
        own.end()
    return result


def _record(run: ActiveRun, est: Any, X: Any, y: Any) -> None:
    params = {k: _short(v) for k, v in est.get_params(deep=False).items()}
    try:
        run.log_params(params)
    except Conflict:
        _log.warning(
            "loopml autolog: params of %s differ from the run's; not logged", type(est).__name__
        )
    tags = {"loopml.autolog.estimator": f"{type(est).__module__}.{type(est).__qualname__}"}
    with contextlib.suppress(Exception):
        tags["loopml.autolog.training_data_digest"] = data_digest(X, y)
    run.set_tags(tags)
    try:
        run.log_metrics(training_metrics(est, X, y))
    except Exception as exc:  # a metric that cannot be computed never breaks fit
        _log.warning("loopml autolog: training metrics skipped: %s", exc)
    if _config.log_models:
        example = None
        with contextlib.suppress(Exception):
            example = X.iloc[:5] if hasattr(X, "iloc") else X[:5]
        try:
            run.log_model(est, "model", input_example=example)
        except Exception as exc:  # a model that cannot be saved never breaks fit
            _log.warning("loopml autolog: model of %s not logged: %s", type(est).__name__, exc)


def _short(value: Any) -> str:
    if inspect.isclass(value) or callable(value):
        text = getattr(value, "__name__", None) or repr(value)
    else:
        text = repr(value) if not isinstance(value, str) else value
    return text[:500]


def data_digest(X: Any, y: Any = None) -> str:
    """sha256 over the training data's values (and target), for lineage and caching."""
    import numpy as np
    import pandas as pd

    h = hashlib.sha256()
    for part in (X, y):
        if part is None:
            continue
        if isinstance(part, pd.DataFrame | pd.Series):
            h.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
            names = list(part.columns) if isinstance(part, pd.DataFrame) else [part.name]
            h.update(repr(names).encode())
        else:
            arr = np.ascontiguousarray(np.asarray(part))
            h.update(str(arr.dtype).encode() + str(arr.shape).encode())
            h.update(arr.tobytes())
    return h.hexdigest()


def training_metrics(est: Any, X: Any, y: Any) -> dict[str, float]:
    """Training-set metrics for a fitted classifier or regressor (empty without ``y``)."""
    if y is None:
        return {}
    from sklearn import metrics as m
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, float] = {}
    if is_classifier(est):
        pred = est.predict(X)
        out["training_accuracy"] = m.accuracy_score(y, pred)
        out["training_precision"] = m.precision_score(y, pred, average="weighted", zero_division=0)
        out["training_recall"] = m.recall_score(y, pred, average="weighted", zero_division=0)
        out["training_f1"] = m.f1_score(y, pred, average="weighted", zero_division=0)
        if hasattr(est, "predict_proba"):
            proba = est.predict_proba(X)
            out["training_log_loss"] = m.log_loss(y, proba, labels=est.classes_)
            if proba.shape[1] == 2:
                out["training_roc_auc"] = m.roc_auc_score(y, proba[:, 1])
            else:
                out["training_roc_auc"] = m.roc_auc_score(
                    y, proba, multi_class="ovr", labels=est.classes_
                )
    elif is_regressor(est):
        pred = est.predict(X)
        mse = m.mean_squared_error(y, pred)
        out.update(
            training_mse=mse,
            training_rmse=mse**0.5,
            training_mae=m.mean_absolute_error(y, pred),
            training_r2=m.r2_score(y, pred),
        )
    elif hasattr(est, "score"):
        out["training_score"] = est.score(X, y)
    return {k: float(v) for k, v in out.items()}
