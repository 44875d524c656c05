"""The check new data passes before any retrain: its schema and a poisoning check.

The poisoning check compares the new rows with the reference (the champion's training
data) three ways:

- **label-rate shift**: the positive (or mean) label rate moves by more than
  ``max_label_shift``, widened by the share of drifted feature columns (covariate drift
  explains some label shift; a flipped-label attack moves labels without moving features);
- **duplicate flood**: more than ``max_duplicate_fraction`` of the new rows repeat another
  row once numbers are rounded to ``near_decimals`` (exact and near-duplicates);
- **outliers**: more than ``max_outlier_fraction`` of the new rows have a numeric value
  more than ``outlier_z`` robust standard deviations (median/MAD of the reference) away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULTS: dict[str, float] = {
    "max_label_shift": 0.1,
    "max_duplicate_fraction": 0.05,
    "max_outlier_fraction": 0.02,
    "outlier_z": 8.0,
    "near_decimals": 2,
}


@dataclass(frozen=True)
class CheckItem:
    """One measured property of the new data against its bound."""

    name: str
    ok: bool
    value: float
    bound: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {"name": self.name, "ok": self.ok, "value": self.value, "bound": self.bound}


@dataclass(frozen=True)
class DataCheck:
    """The verdict on new data: ``ok`` when every item is."""

    rows: int
    items: tuple[CheckItem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when every item passed."""
        return all(i.ok for i in self.items)

    @property
    def failed(self) -> list[str]:
        """Names of the failed items."""
        return [i.name for i in self.items if not i.ok]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (kept in the trigger event)."""
        return {"ok": self.ok, "rows": self.rows, "items": [i.to_dict() for i in self.items]}


def poisoning_check(
    reference: pd.DataFrame,
    new: pd.DataFrame,
    target: str | None,
    *,
    drift_share: float = 0.0,
    max_label_shift: float = DEFAULTS["max_label_shift"],
    max_duplicate_fraction: float = DEFAULTS["max_duplicate_fraction"],
    max_outlier_fraction: float = DEFAULTS["max_outlier_fraction"],
    outlier_z: float = DEFAULTS["outlier_z"],
    near_decimals: int = int(DEFAULTS["near_decimals"]),
    columns: Sequence[str] | None = None,
) -> DataCheck:
    """Judge ``new`` rows against ``reference`` for signs of poisoning; pure, no I/O.

    Args:
        reference: The data the champion learned from.
        new: The rows a retrain would add.
        target: The label column (None: no label check).
        drift_share: Share of feature columns that drifted (0-1); widens the label bound.
        max_label_shift: Largest label-rate move not explained by drift.
        max_duplicate_fraction: Largest share of repeated (or near-repeated) new rows.
        max_outlier_fraction: Largest share of new rows with an extreme value.
        outlier_z: How many robust standard deviations count as extreme.
        near_decimals: Decimals numbers are rounded to before comparing rows.
        columns: The feature columns to check (default: every column both tables have);
            leave out identifiers such as a transaction id, which grow by design.
    """
    items: list[CheckItem] = []
    if new.empty:
        return DataCheck(0, (CheckItem("rows", False, 0.0, 1.0),))
    features = [
        c
        for c in new.columns
        if c != target and c in reference.columns and (columns is None or c in columns)
    ]
    if target is not None and target in new and target in reference:
        old_rate = float(pd.to_numeric(reference[target], errors="coerce").mean())
        new_rate = float(pd.to_numeric(new[target], errors="coerce").mean())
        shift = abs(new_rate - old_rate)
        bound = max_label_shift * (1.0 + 2.0 * max(0.0, min(1.0, drift_share)))
        items.append(CheckItem("label_shift", bool(shift <= bound), shift, bound))
    rounded = new[features].copy()
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(new[c])]
    for column in numeric:
        rounded[column] = rounded[column].round(near_decimals)
    rounded = rounded.drop(columns=[c for c in rounded.columns if "time" in c.lower()])
    dup = float(rounded.astype(str).duplicated().mean()) if len(rounded.columns) else 0.0
    items.append(
        CheckItem("duplicates", dup <= max_duplicate_fraction, dup, max_duplicate_fraction)
    )
    extreme = np.zeros(len(new), dtype=bool)
    for column in numeric:
        ref = pd.to_numeric(reference[column], errors="coerce").dropna()
        if ref.empty or not pd.api.types.is_numeric_dtype(reference[column]):
            continue
        median = float(ref.median())
        spread = 1.4826 * float((ref - median).abs().median()) or float(ref.std() or 0.0)
        if spread <= 0:
            continue
        z = (pd.to_numeric(new[column], errors="coerce") - median).abs() / spread
        extreme |= (z > outlier_z).fillna(False).to_numpy()
    out = float(extreme.mean())
    items.append(CheckItem("outliers", out <= max_outlier_fraction, out, max_outlier_fraction))
    return DataCheck(len(new), tuple(items))
