"""Incremental retraining: update the champion on the rows added since its data version.

A rule with ``action.incremental: true`` and ``action.since_param`` hands its training
action the champion's training data version next to the newest one; the action calls
:func:`rows_since` for the rows added in between and :func:`update_model` to fit a copy of
the champion on them only (``partial_fit``, or ``warm_start`` with more trees/iterations).
The updated copy is registered like any retrain, so the chain's gates judge it.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

    from loopml.workspace import Workspace

#: Hyper-parameters that count the trees or iterations a warm start adds to.
_GROWTH = ("n_estimators", "max_iter")


def rows_since(data: str, since: str, *, workspace: Workspace) -> pd.DataFrame:
    """The rows of dataset version ``data`` that version ``since`` does not hold (each row
    counted as often as it was added: three copies in ``data`` and one in ``since`` leave
    two)."""
    from loopml import data as datasets

    repo = datasets.repo_for(workspace)
    new = datasets.load_table(data, repo=repo)
    old = datasets.load_table(since, repo=repo)
    if list(new.columns) != list(old.columns):
        raise InvalidInput(
            f"{data} and {since} have different columns, so 'the rows since' is undefined",
            hint="Retrain from scratch (incremental: false) after a schema change.",
        )
    keys = list(new.columns)
    seen = old.assign(_nth=old.groupby(keys, dropna=False).cumcount())
    mine = new.assign(_nth=new.groupby(keys, dropna=False).cumcount())
    merged = mine.merge(seen, on=[*keys, "_nth"], how="left", indicator=True)
    added = merged[merged["_merge"] == "left_only"]
    return added[keys].reset_index(drop=True)


def _final(model: Any) -> tuple[Any, Any]:
    """(preprocessing or None, estimator) of a model or an sklearn Pipeline."""
    steps = getattr(model, "steps", None)
    if steps:
        return (model[:-1] if len(steps) > 1 else None), steps[-1][1]
    return None, model


def update_model(
    model: Any, rows: pd.DataFrame, features: Sequence[str], target: str, *, grow: float = 0.25
) -> tuple[Any, str]:
    """A copy of ``model`` updated on ``rows`` only; returns it and how (``partial_fit`` or
    ``warm_start``).

    The preprocessing of a Pipeline stays as fitted (the new rows are transformed by it);
    the final estimator is updated by ``partial_fit`` when it has one, else by
    ``warm_start`` with ``grow`` times more trees or iterations fitted on the new rows.

    Raises:
        InvalidInput: No rows, or the estimator supports neither way.
    """
    if rows.empty:
        raise InvalidInput(
            "no rows were added since the champion's data version: nothing to learn from",
            hint="Wait for new data, or retrain from scratch (incremental: false).",
        )
    updated = copy.deepcopy(model)
    prep, estimator = _final(updated)
    x = rows[list(features)]
    inputs = prep.transform(x) if prep is not None else x
    y = rows[target]
    if hasattr(estimator, "partial_fit"):
        classes = getattr(estimator, "classes_", None)
        if classes is not None:
            estimator.partial_fit(inputs, y, classes=classes)
        else:
            estimator.partial_fit(inputs, y)
        return updated, "partial_fit"
    params = estimator.get_params() if hasattr(estimator, "get_params") else {}
    size = next((p for p in _GROWTH if p in params), None)
    if "warm_start" not in params or size is None:
        raise InvalidInput(
            f"{type(estimator).__name__} supports neither partial_fit nor warm_start",
            hint="Retrain from scratch (incremental: false), or use an estimator that does.",
        )
    more = int(params[size]) + max(1, round(int(params[size]) * grow))
    estimator.set_params(warm_start=True, **{size: more})
    estimator.fit(inputs, y)
    return updated, "warm_start"
