"""Validation of a table against a schema and, optionally, a reference profile.

Every check is a vectorised Arrow expression producing a mask of bad rows; anomalies carry
a count, up to five example rows (index and value) and the ``origin`` of the rule they
break: ``inferred`` (written by schema inference), ``user`` (written by a person, or a
registered check) or ``builtin`` (loopml's own: PII, distribution shift, allowed extra
columns). Users add checks with :func:`register_check`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopml.data._pii import scan_table
from loopml.data._schema import ColumnSpec, Origin, Rule, Schema, type_matches, type_name
from loopml.data._shift import column_psi
from loopml.errors import InvalidInput

EXAMPLES = 5
CheckFn = Callable[..., Any]
_CHECKS: dict[str, CheckFn] = {}


def register_check(name: str) -> Callable[[CheckFn], CheckFn]:
    """Register a user check, referenced by ``name`` in a schema's ``checks`` list.

    The function is called as ``fn(table, column=..., **params)`` with the table as a
    ``pyarrow.Table`` and returns either a bool (True: passed) or a boolean mask (Arrow or
    numpy) that is True on the rows that fail.

    Args:
        name: The name schemas use.

    Returns:
        A decorator that registers the function and returns it unchanged.

    Example:
        >>> import pyarrow.compute as pc
        >>> @register_check("positive")
        ... def positive(table, column=None):
        ...     return pc.less_equal(table[column], 0)
    """

    def decorate(fn: CheckFn) -> CheckFn:
        _CHECKS[name] = fn
        return fn

    return decorate


@dataclass(frozen=True)
class Anomaly:
    """One finding: what, where, how severe, how many rows, examples, and the origin of
    the rule broken (``inferred``, ``user`` or ``builtin``)."""

    kind: str
    column: str | None
    severity: str
    message: str
    count: int = 0
    examples: tuple[dict[str, Any], ...] = ()
    origin: Origin = "user"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "column": self.column,
            "severity": self.severity,
            "message": self.message,
            "count": self.count,
            "examples": list(self.examples),
            "origin": self.origin,
        }


@dataclass(frozen=True)
class ValidationReport:
    """The result of a validation; ``ok`` is False when any error-level anomaly was found."""

    target: str
    rows: int
    anomalies: tuple[Anomaly, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when no anomaly has severity ``error``."""
        return not any(a.severity == "error" for a in self.anomalies)

    @property
    def errors(self) -> list[Anomaly]:
        """Anomalies of severity ``error``."""
        return [a for a in self.anomalies if a.severity == "error"]

    def errors_by_origin(self) -> dict[str, int]:
        """How many error-level anomalies break rules of each origin."""
        counts = {"inferred": 0, "user": 0, "builtin": 0}
        for anomaly in self.errors:
            counts[anomaly.origin] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "target": self.target,
            "rows": self.rows,
            "ok": self.ok,
            "errors_by_origin": self.errors_by_origin(),
            "anomalies": [a.to_dict() for a in self.anomalies],
        }


def _examples(
    column: pa.ChunkedArray, mask: pa.ChunkedArray | pa.Array
) -> tuple[int, tuple[dict[str, Any], ...]]:
    mask = pc.fill_null(mask, False)
    count = int(pc.sum(mask).as_py() or 0)
    if not count:
        return 0, ()
    rows = pc.indices_nonzero(mask)[:EXAMPLES]
    values = pc.take(column, rows).to_pylist()
    return count, tuple(
        {
            "row": int(r),
            "value": v if isinstance(v, (int, float, str, bool)) or v is None else str(v),
        }
        for r, v in zip(rows.to_pylist(), values, strict=True)
    )


def _column_checks(name: str, column: pa.ChunkedArray, spec: ColumnSpec) -> list[Anomaly]:
    out: list[Anomaly] = []
    if not type_matches(spec.type, column.type):
        out.append(
            Anomaly(
                "type_mismatch",
                name,
                "error",
                f"column {name!r} is {type_name(column.type)}, the schema says {spec.type}",
                origin=spec.origin("type"),
            )
        )
        return out
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not spec.nullable and column.null_count:
        count, examples = _examples(column, pc.is_null(column))
        out.append(
            Anomaly(
                "unexpected_nulls",
                name,
                "error",
                f"{count} null value(s) in non-nullable column {name!r}",
                count,
                examples,
                spec.origin("nullable"),
            )
        )
    if spec.min is not None or spec.max is not None:
        low = pc.less(column, spec.min) if spec.min is not None else None
        high = pc.greater(column, spec.max) if spec.max is not None else None
        mask = low if high is None else high if low is None else pc.or_(low, high)
        count, examples = _examples(column, mask)
        if count:
            broken: list[Rule] = []
            if low is not None and pc.any(low).as_py():
                broken.append("min")
            if high is not None and pc.any(high).as_py():
                broken.append("max")
            out.append(
                Anomaly(
                    "out_of_range",
                    name,
                    "error",
                    f"{count} value(s) of {name!r} outside [{spec.min}, {spec.max}]",
                    count,
                    examples,
                    spec.origin(*broken),
                )
            )
    if spec.allowed is not None:
        mask = pc.invert(pc.is_in(column, value_set=pa.array(spec.allowed, type=column.type)))
        count, examples = _examples(column, pc.and_(mask, pc.is_valid(column)))
        if count:
            out.append(
                Anomaly(
                    "unknown_category",
                    name,
                    "error",
                    f"{count} value(s) of {name!r} not among the {len(spec.allowed)} allowed",
                    count,
                    examples,
                    spec.origin("allowed"),
                )
            )
    if spec.pattern is not None and type_name(column.type) == "string":
        try:
            matches = pc.match_substring_regex(column, spec.pattern)
        except pa.ArrowInvalid as exc:
            raise InvalidInput(
                f"invalid pattern for column {name!r}: {exc}", hint="Use an RE2 regular expression."
            ) from exc
        count, examples = _examples(column, pc.invert(matches))
        if count:
            out.append(
                Anomaly(
                    "pattern_violation",
                    name,
                    "error",
                    f"{count} value(s) of {name!r} do not match {spec.pattern}",
                    count,
                    examples,
                    spec.origin("pattern"),
                )
            )
    if spec.unique:
        counts = pc.value_counts(column.drop_null()).flatten()
        repeated = pc.filter(counts[0], pc.greater(counts[1], 1))
        if len(repeated):
            mask = pc.is_in(column, value_set=repeated)
            count, examples = _examples(column, mask)
            out.append(
                Anomaly(
                    "duplicate_key",
                    name,
                    "error",
                    f"{len(repeated)} value(s) of unique column {name!r} repeat ({count} rows)",
                    count,
                    examples,
                    spec.origin("unique"),
                )
            )
    return out


def _custom(table: pa.Table, schema: Schema) -> list[Anomaly]:
    out: list[Anomaly] = []
    for check in schema.checks:
        fn = _CHECKS.get(check.name)
        if fn is None:
            raise InvalidInput(
                f"unknown check {check.name!r} in the schema",
                hint="Register it with @loopml.data.register_check(name) before validating; "
                f"registered: {', '.join(sorted(_CHECKS)) or 'none'}.",
            )
        result = fn(table, column=check.column, **check.params)
        if isinstance(result, (bool, np.bool_)):
            if not result:
                out.append(
                    Anomaly(
                        f"check:{check.name}",
                        check.column,
                        check.severity,
                        f"check {check.name!r} failed",
                    )
                )
            continue
        mask = result if isinstance(result, (pa.Array, pa.ChunkedArray)) else pa.array(result)
        column = table.column(check.column) if check.column else pa.array(range(table.num_rows))
        count, examples = _examples(column, mask)
        if count:
            out.append(
                Anomaly(
                    f"check:{check.name}",
                    check.column,
                    check.severity,
                    f"check {check.name!r} failed on {count} row(s)",
                    count,
                    examples,
                )
            )
    return out


def validate_table(
    table: pa.Table,
    schema: Schema,
    *,
    target: str,
    reference: dict[str, Any] | None = None,
    pii: bool = True,
) -> ValidationReport:
    """Check ``table`` against ``schema`` (and a reference profile for shift).

    Args:
        table: The data.
        schema: What it must satisfy.
        target: Name of the data, for the report.
        reference: A ``loopml.profile/1`` profile; columns whose PSI against it reaches
            ``schema.psi_threshold`` are reported as ``distribution_shift`` warnings.
        pii: Also report columns that look like personal data (warnings).
    """
    anomalies: list[Anomaly] = []
    present = set(table.column_names)
    for name, spec in schema.columns.items():
        if name not in present:
            anomalies.append(
                Anomaly(
                    "missing_column",
                    name,
                    "error",
                    f"column {name!r} is missing",
                    origin=spec.origin("type"),
                )
            )
            continue
        anomalies.extend(_column_checks(name, table.column(name), spec))
    for name in table.column_names:
        if name not in schema.columns:
            severity = "warning" if schema.allow_extra_columns else "error"
            anomalies.append(
                Anomaly(
                    "extra_column",
                    name,
                    severity,
                    f"column {name!r} is not in the schema",
                    origin="builtin" if schema.allow_extra_columns else "user",
                )
            )
    if reference is not None:
        for name, spec in schema.columns.items():
            ref = reference.get("columns", {}).get(name)
            if not spec.drift or ref is None or name not in present:
                continue
            value = column_psi(ref, table.column(name))
            if value is not None and value >= schema.psi_threshold:
                anomalies.append(
                    Anomaly(
                        "distribution_shift",
                        name,
                        "warning",
                        f"distribution of {name!r} shifted: PSI {value:.3f} "
                        f">= {schema.psi_threshold}",
                        origin="builtin",
                    )
                )
    anomalies.extend(_custom(table, schema))
    if pii:
        for finding in scan_table(table):
            if finding.flagged:
                anomalies.append(
                    Anomaly(
                        "pii",
                        finding.column,
                        "warning",
                        f"column {finding.column!r} looks like {finding.kind} "
                        f"(confidence {finding.confidence:.2f}, by {finding.by})",
                        origin="builtin",
                    )
                )
    return ValidationReport(target, table.num_rows, tuple(anomalies))
