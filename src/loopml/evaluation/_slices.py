"""User-defined slices (column values, ranges, expressions) and sensitive-group fairness."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

_MAX_GROUPS = 50


@dataclass(frozen=True)
class Slice:
    """A subset of the evaluation rows.

    Exactly one way of selecting rows is used: ``values`` of ``column``, a ``low``/``high``
    range of ``column`` (low inclusive, high exclusive; either may be None), or a pandas
    ``expr`` such as ``"amount > 500 and is_foreign"``.

    Args:
        name: Shown in reports and gate results.
        column: The column ``values``/``low``/``high`` refer to.
        values: Keep rows whose ``column`` is one of these.
        low: Keep rows with ``column >= low``.
        high: Keep rows with ``column < high``.
        expr: A boolean pandas expression over the columns.
    """

    name: str
    column: str | None = None
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    expr: str | None = None

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows in this slice."""
        if self.expr is not None:
            try:
                result = frame.eval(self.expr)
            except Exception as exc:  # pandas raises many types for a bad expression
                raise InvalidInput(
                    f"slice {self.name!r}: cannot evaluate {self.expr!r}: {exc}",
                    hint="Write a boolean pandas expression over the data's columns.",
                ) from exc
            return np.asarray(result, dtype=bool)
        if self.column is None or self.column not in frame.columns:
            raise InvalidInput(
                f"slice {self.name!r} names column {self.column!r}, which the data lacks",
                hint=f"Columns: {', '.join(map(str, frame.columns))}.",
            )
        column = frame[self.column]
        if self.values is not None:
            return np.asarray(column.isin(list(self.values)), dtype=bool)
        keep = np.ones(len(frame), dtype=bool)
        if self.low is not None:
            keep &= np.asarray(column >= self.low, dtype=bool)
        if self.high is not None:
            keep &= np.asarray(column < self.high, dtype=bool)
        return keep


SliceLike = Slice | str | Mapping[str, Any]


def parse_slices(specs: Sequence[SliceLike] | None, frame: pd.DataFrame) -> list[Slice]:
    """Slices from specs: a Slice, a column name (one slice per value), or a dict."""
    out: list[Slice] = []
    for spec in specs or ():
        if isinstance(spec, Slice):
            out.append(spec)
        elif isinstance(spec, str):
            if spec not in frame.columns:
                raise InvalidInput(
                    f"slice column {spec!r} is not in the data",
                    hint=f"Columns: {', '.join(map(str, frame.columns))}.",
                )
            groups = frame[spec].dropna().unique()
            if len(groups) > _MAX_GROUPS:
                raise InvalidInput(
                    f"slice column {spec!r} has {len(groups)} values (at most {_MAX_GROUPS})",
                    hint="Slice a numeric column by ranges: {'column': c, 'low': x, 'high': y}.",
                )
            out.extend(
                Slice(f"{spec}={g}", column=spec, values=(g,)) for g in sorted(groups, key=str)
            )
        elif isinstance(spec, Mapping):
            data = dict(spec)
            if "values" in data:
                data["values"] = tuple(data["values"])
            try:
                out.append(Slice(**data))
            except TypeError as exc:
                raise InvalidInput(
                    f"invalid slice {spec!r}: {exc}",
                    hint="Keys: name, and column+values, column+low/high, or expr.",
                ) from exc
        else:
            raise InvalidInput(f"invalid slice {spec!r}", hint="Pass a Slice, a column or a dict.")
    return out


def group_rates(
    y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray, positive: Any
) -> dict[str, dict[str, float]]:
    """Per group: count, selection rate, true/false positive rate and accuracy."""
    out = {}
    truth, chosen = y_true == positive, y_pred == positive
    for group in sorted(set(groups.tolist()), key=str):
        rows = groups == group
        t, c = truth[rows], chosen[rows]
        out[str(group)] = {
            "count": float(rows.sum()),
            "selection_rate": float(c.mean()),
            "tpr": float(c[t].mean()) if t.any() else float("nan"),
            "fpr": float(c[~t].mean()) if (~t).any() else float("nan"),
            "accuracy": float((t == c).mean()),
        }
    return out


def _spread(values: list[float], fn: Callable[[list[float]], float]) -> float:
    finite = [v for v in values if v == v]
    return fn(finite) if finite else float("nan")


def fairness(
    y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray, positive: Any
) -> dict[str, Any]:
    """Demographic-parity difference and ratio, equalised-odds difference, per-group rates.

    The definitions match fairlearn's (``between_groups``): differences are max - min
    across groups, the ratio is min / max, equalised odds is the larger of the TPR and
    FPR differences.
    """
    rates = group_rates(y_true, y_pred, groups, positive)
    selection = [r["selection_rate"] for r in rates.values()]
    tpr = [r["tpr"] for r in rates.values()]
    fpr = [r["fpr"] for r in rates.values()]
    top = max(selection) if selection else 0.0
    return {
        "demographic_parity_difference": _spread(selection, lambda v: max(v) - min(v)),
        "demographic_parity_ratio": (min(selection) / top) if top > 0 else float("nan"),
        "equalized_odds_difference": max(
            _spread(tpr, lambda v: max(v) - min(v)), _spread(fpr, lambda v: max(v) - min(v))
        ),
        "groups": rates,
    }
