"""The drift report: per feature, per test, the statistic, its effect size, an interval,
the calibrated threshold and the verdict; plain data (``to_dict``/``from_dict``/JSON) so
that it can be stored as a monitor window, and a Rich table for people."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table


def _num(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True)
class TestResult:
    """One statistic on one feature.

    Attributes:
        test: ``ks``, ``psi``, ``wasserstein``, ``jensen_shannon``, ``chi_square``,
            ``new_categories``, ``missing_rate`` or ``domain_classifier``.
        statistic: The raw statistic (e.g. Wasserstein in the column's units, chi-square).
        effect_size: The scale-free size the threshold applies to (KS distance, PSI,
            Wasserstein / reference std, JS distance, Cohen's w, new share, Cohen's h, AUC).
        ci_low: Lower end of the effect size's confidence interval.
        ci_high: Upper end.
        p_value: Chance of an effect at least this large in a same-distribution window of
            this size.
        q_value: The p-value after the Benjamini–Hochberg correction across features.
        threshold: The effect size a same-distribution window of this size exceeds with
            probability ``fdr`` (the calibrated noise level), or the fixed spec threshold.
        min_effect: The smallest effect that counts as practically significant.
        drifted: ``q_value <= fdr`` and ``effect_size >= min_effect`` (or, with a fixed
            threshold, ``effect_size >= threshold``).
        fixed: True when the spec gave a fixed threshold instead of the calibrated one.
    """

    __test__ = False  # not a pytest class

    test: str
    statistic: float | None
    effect_size: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float
    q_value: float
    threshold: float | None
    min_effect: float
    drifted: bool
    fixed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (non-finite numbers become None)."""
        out = asdict(self)
        for key in ("statistic", "effect_size", "ci_low", "ci_high", "threshold"):
            out[key] = _num(out[key])
        return out


@dataclass(frozen=True)
class FeatureDrift:
    """Every test on one column, and the column's verdict (any test drifted)."""

    column: str
    kind: str
    role: str
    reference_rows: int
    current_rows: int
    tests: tuple[TestResult, ...]
    new_categories: tuple[Any, ...] = ()
    vanished_categories: tuple[Any, ...] = ()

    @property
    def drifted(self) -> bool:
        """True when any of the column's tests drifted."""
        return any(t.drifted for t in self.tests)

    def test(self, name: str) -> TestResult:
        """The result of test ``name`` (KeyError when it did not run)."""
        for item in self.tests:
            if item.test == name:
                return item
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "column": self.column,
            "kind": self.kind,
            "role": self.role,
            "drifted": self.drifted,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "tests": [t.to_dict() for t in self.tests],
            "new_categories": list(self.new_categories),
            "vanished_categories": list(self.vanished_categories),
        }


@dataclass(frozen=True)
class DriftReport:
    """The drift of a window against a reference.

    Attributes:
        reference: What the reference was (a dataset ref, a model URI, ``profile``...).
        current: What the window was.
        reference_rows: Rows of the reference profile.
        current_rows: Rows of the window.
        fdr: The false-discovery level the Benjamini–Hochberg correction controls.
        features: Input features, in column order.
        predictions: Prediction (score) columns, corrected as a family of their own.
        multivariate: The domain-classifier result when it was asked for.
        skipped: Columns not tested, with the reason.
    """

    reference: str
    current: str
    reference_rows: int
    current_rows: int
    fdr: float
    features: tuple[FeatureDrift, ...]
    predictions: tuple[FeatureDrift, ...] = ()
    multivariate: TestResult | None = None
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def drifted(self) -> bool:
        """True when any feature, prediction or the multivariate check drifted."""
        every = (*self.features, *self.predictions)
        return any(f.drifted for f in every) or bool(
            self.multivariate and self.multivariate.drifted
        )

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the columns that drifted."""
        return [f.column for f in (*self.features, *self.predictions) if f.drifted]

    def feature(self, column: str) -> FeatureDrift:
        """The result for ``column`` (KeyError when it was not tested)."""
        for item in (*self.features, *self.predictions):
            if item.column == column:
                return item
        raise KeyError(column)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (format ``loopml.drift/1``)."""
        return {
            "format": "loopml.drift/1",
            "reference": self.reference,
            "current": self.current,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "fdr": self.fdr,
            "drifted": self.drifted,
            "drifted_columns": self.drifted_columns,
            "features": [f.to_dict() for f in self.features],
            "predictions": [f.to_dict() for f in self.predictions],
            "multivariate": None if self.multivariate is None else self.multivariate.to_dict(),
            "skipped": dict(self.skipped),
        }

    def to_json(self, **kwargs: Any) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), default=str, **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftReport:
        """Inverse of :meth:`to_dict`."""

        def test(item: dict[str, Any]) -> TestResult:
            return TestResult(**{k: item[k] for k in TestResult.__dataclass_fields__})

        def feature(item: dict[str, Any]) -> FeatureDrift:
            return FeatureDrift(
                item["column"],
                item["kind"],
                item["role"],
                int(item["reference_rows"]),
                int(item["current_rows"]),
                tuple(test(t) for t in item["tests"]),
                tuple(item.get("new_categories") or ()),
                tuple(item.get("vanished_categories") or ()),
            )

        multi = data.get("multivariate")
        return cls(
            str(data["reference"]),
            str(data["current"]),
            int(data["reference_rows"]),
            int(data["current_rows"]),
            float(data["fdr"]),
            tuple(feature(f) for f in data["features"]),
            tuple(feature(f) for f in data.get("predictions") or ()),
            None if multi is None else test(multi),
            dict(data.get("skipped") or {}),
        )

    def table(self) -> Table:
        """A Rich table: one row per test, drifted rows in red."""
        from rich.table import Table
        from rich.text import Text

        def fmt(value: float | None) -> str:
            return "-" if value is None or not math.isfinite(value) else f"{value:.4g}"

        table = Table(title=f"drift of {self.current} against {self.reference}")
        for name in ("column", "test", "effect", "95% CI", "threshold", "min", "q", "drift"):
            table.add_column(name, justify="left" if name in ("column", "test") else "right")
        rows = [(f.column, t) for f in (*self.features, *self.predictions) for t in f.tests]
        if self.multivariate is not None:
            rows.append(("(all)", self.multivariate))
        for column, t in rows:
            style = "red" if t.drifted else ""
            table.add_row(
                Text(column),
                Text(t.test),
                fmt(t.effect_size),
                f"{fmt(t.ci_low)}..{fmt(t.ci_high)}",
                fmt(t.threshold),
                fmt(t.min_effect),
                fmt(t.q_value),
                Text("DRIFT" if t.drifted else "ok", style=style or "green"),
                style=style,
            )
        return table
