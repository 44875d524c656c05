"""A binary logistic regression's labels and probabilities from one product.

Asked for labels and probabilities, scikit-learn's ``LogisticRegression`` validates the
input twice (``predict`` and ``predict_proba`` each call ``decision_function``) and, for
one row, spends most of each call on the validation (~50 us, against ~2 us for the
product). For a fitted binary model the function here computes the decision once, as
``decision_function`` does (``X @ coef_.T + intercept_``), and from it the labels as
``predict`` does (``classes_[decision > 0]``) and the probabilities as ``predict_proba``
does for two classes (``expit``, then ``[1 - p, p]``). It is checked against the model's
own methods on the input example when the server loads it and not used if they differ;
inputs it does not handle (a NaN, another width) go to the model's own methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

    from loopml.serving._validate import Columns, Schema

_LOGISTIC = ("sklearn.linear_model._logistic", "LogisticRegression")


def logistic_predict(
    raw: Any,
    schema: Schema,
    label: str,
    proba: str,
    fallback: Callable[[Columns], dict[str, np.ndarray]],
) -> Callable[[Columns], dict[str, np.ndarray]] | None:
    """``Columns -> {label: labels, proba: probabilities}`` from one matrix product, or
    None when ``raw`` is not a fitted two-class ``LogisticRegression`` (exact type).

    Args:
        raw: The loaded estimator.
        schema: The inputs the server validated (columns or one 2-D tensor).
        label: The labels' output name.
        proba: The probabilities' output name.
        fallback: The model's own path, for inputs not computed here.
    """
    kind = type(raw)
    if (kind.__module__, kind.__name__) != _LOGISTIC:
        return None
    coef = getattr(raw, "coef_", None)
    intercept = getattr(raw, "intercept_", None)
    classes = getattr(raw, "classes_", None)
    if coef is None or intercept is None or classes is None or len(classes) != 2:
        return None
    if not isinstance(coef, np.ndarray) or coef.ndim != 2 or coef.shape[0] != 1:
        return None
    from scipy.special import expit  # imported with scikit-learn already

    coef_t, width = coef.T, coef.shape[1]

    def call(columns: Columns) -> dict[str, np.ndarray]:
        matrix = schema.finite_matrix(columns, width, np.float64)
        if matrix is None:
            return fallback(columns)
        decision = (matrix @ coef_t + intercept).reshape(-1)
        positive = expit(decision)
        return {
            label: classes[(decision > 0).astype(int)],
            proba: np.stack([1 - positive, positive], axis=1),
        }

    return call
