"""A dataset version's validation and personal-data reports, as readable tables.

Validation is run when asked (``/data/{name}/validation``, which the dataset page loads on
its own): the chosen version against the dataset's newest saved schema, with the version
the schema was saved from as the distribution baseline. Every rule of the schema becomes
one row that passed or failed, with the failing rows' count and examples; findings that
belong to no rule (extra columns, personal data) follow. The personal-data report comes
from the version's record: what the commit's scan found per file and column, and what the
PII policy redacted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from loopml import data
from loopml.data import DataRepo
from loopml.errors import LoopmlError

if TYPE_CHECKING:
    from loopml.data import Anomaly, Schema, ValidationReport
    from loopml.entities import DatasetVersion
    from loopml.server._ui import Ui


@dataclass
class CheckRow:
    """One rule of the schema (or one finding outside any rule) and how it fared."""

    column: str | None
    check: str
    anomalies: list[Anomaly] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when nothing was found against this rule."""
        return not self.anomalies

    @property
    def severity(self) -> str:
        """``pass``, ``warning`` or ``error`` (the worst finding)."""
        if not self.anomalies:
            return "pass"
        return "error" if any(a.severity == "error" for a in self.anomalies) else "warning"

    @property
    def count(self) -> int:
        """Rows the findings name."""
        return sum(a.count for a in self.anomalies)


def _rules(schema: Schema, drift: bool) -> list[tuple[str | None, str, tuple[str, ...]]]:
    """(column, label, anomaly kinds that break it) for every rule the schema states."""
    rules: list[tuple[str | None, str, tuple[str, ...]]] = []
    for name, spec in schema.columns.items():
        rules.append((name, f"type {spec.type}", ("missing_column", "type_mismatch")))
        if not spec.nullable:
            rules.append((name, "no nulls", ("unexpected_nulls",)))
        if spec.min is not None or spec.max is not None:
            low = "" if spec.min is None else f"{spec.min} ≤ "
            high = "" if spec.max is None else f" ≤ {spec.max}"
            rules.append((name, f"range {low}value{high}", ("out_of_range",)))
        if spec.allowed is not None:
            shown = ", ".join(str(v) for v in spec.allowed[:8])
            more = "…" if len(spec.allowed) > 8 else ""
            rules.append((name, f"one of {shown}{more}", ("unknown_category",)))
        if spec.pattern is not None:
            rules.append((name, f"matches {spec.pattern}", ("pattern_violation",)))
        if spec.unique:
            rules.append((name, "unique", ("duplicate_key",)))
        if drift and spec.drift:
            rules.append((name, "distribution as in the baseline", ("distribution_shift",)))
    for check in schema.checks:
        rules.append((check.column, f"check {check.name}", (f"check:{check.name}",)))
    return rules


def check_rows(schema: Schema, report: ValidationReport, *, drift: bool) -> list[CheckRow]:
    """The schema's rules with the report's findings against each, then the rest."""
    rows = []
    used: set[int] = set()
    for column, label, kinds in _rules(schema, drift):
        found = [
            (i, a)
            for i, a in enumerate(report.anomalies)
            if a.kind in kinds and a.column == column and i not in used
        ]
        used.update(i for i, _ in found)
        rows.append(CheckRow(column, label, [a for _, a in found]))
    for i, anomaly in enumerate(report.anomalies):
        if i not in used:
            rows.append(CheckRow(anomaly.column, anomaly.kind.replace("_", " "), [anomaly]))
    return rows


def pii_rows(version: DatasetVersion) -> list[dict[str, Any]]:
    """The commit's personal-data findings, one row per file and column."""
    meta: dict[str, Any] = dict(version.meta)
    redacted: dict[str, list[str]] = meta.get("redacted") or {}
    found: dict[str, list[dict[str, Any]]] = meta.get("pii") or {}
    rows = []
    for path, findings in sorted(found.items()):
        for finding in findings:
            rows.append(
                {
                    **finding,
                    "path": path,
                    "redacted": finding.get("column") in (redacted.get(path) or ()),
                }
            )
    return rows


@dataclass
class FileReport:
    """The validation of one table file of a version (``report`` None when skipped)."""

    path: str
    report: ValidationReport | None = None
    rows: list[CheckRow] = field(default_factory=list)
    skipped: str = ""


def _validation(ui: Ui, name: str, version_id: str) -> dict[str, Any]:
    store = ui.ctx.store
    dataset = store.get_dataset(name)
    versions = {v.id: v for v in store.list_versions(dataset.id, limit=1000)}
    chosen = versions.get(version_id) or next(iter(versions.values()), None)
    repo = DataRepo.for_workspace(ui.ctx.workspace)
    saved = data.list_schemas(name, repo=repo)
    if chosen is None or not saved:
        return {"schema": None, "chosen": chosen, "files": []}
    record = saved[-1]
    schema = data.get_schema(f"{name}@{record.seq}", repo=repo)
    base = versions.get(record.version_id or "")
    reference = f"{name}@v{base.seq}" if base is not None else None
    ref = f"{name}@v{chosen.seq}"
    files = []
    for path, entry in sorted(repo.manifest(ref).files.items()):
        if entry.profile is None:
            continue  # not a table
        columns = set(repo.profile(ref, path).get("columns", {}))
        if not columns & set(schema.columns):
            files.append(FileReport(path, skipped="it has none of the schema's columns"))
            continue
        report = data.validate(ref, schema, reference=reference, path=path, repo=repo)
        rows = check_rows(schema, report, drift=reference is not None)
        files.append(FileReport(path, report, rows))
    return {"schema": record, "chosen": chosen, "reference": reference, "files": files}


def register(router: APIRouter, ui: Ui) -> None:
    """Add the dataset validation report to ``router``."""

    @router.get(
        "/data/{name}/validation",
        response_class=HTMLResponse,
        dependencies=[Depends(ui.need("data.read"))],
    )
    def validation(request: Request, name: str, version: str = "") -> HTMLResponse:
        try:
            values = _validation(ui, name, version)
        except LoopmlError as exc:  # shown in place: the rest of the page stays usable
            values = {"schema": None, "chosen": None, "files": [], "error": exc}
        return ui.render(request, "_validation.html", **{"error": None, **values})
