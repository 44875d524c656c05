"""The evaluation report returned by ``evaluate``: typed sections and the gates' verdict."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import GateFailed
from loopml.evaluation._gates import GateResult
from loopml.evaluation._html import render_html
from loopml.evaluation._results import CheckResults

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


@dataclass(frozen=True)
class EvaluationReport:
    """Everything measured about a model on one data set, and the gates' verdict.

    The typed sections are in ``results`` (one per check); the attributes ``metrics``,
    ``slices``, ``fairness``, ``robustness``, ``behaviour_tests``, ``infra``, ``analysis``,
    ``leakage``, ``curves`` and ``reference`` give each section in its JSON form.

    Attributes:
        model_uri: What was evaluated.
        task: ``"classification"`` or ``"regression"``.
        rows: Evaluation rows.
        data_fingerprint: sha256 of the evaluation data's rows.
        results: The typed sections.
        gates: Every gate rule's verdict.
        gates_source: Where the gate rules came from (None: no gates).
        evaluation_id: Id of the recorded evaluation (None when not recorded).
        report_digest: Artifact digest of the stored JSON report.
    """

    model_uri: str
    task: str
    rows: int
    data_fingerprint: str = ""
    results: CheckResults = field(default_factory=CheckResults)
    gates: tuple[GateResult, ...] = ()
    gates_source: str | None = None
    evaluation_id: str | None = None
    report_digest: str | None = None

    @property
    def passed(self) -> bool | None:
        """True when every gate passed, False when one failed, None without gates."""
        if not self.gates and self.gates_source is None:
            return None
        return all(g.passed for g in self.gates)

    @property
    def failures(self) -> list[GateResult]:
        """The gate results that failed."""
        return [g for g in self.gates if not g.passed]

    @property
    def metrics(self) -> dict[str, float]:
        """Overall metrics."""
        return self.results.metrics.to_dict()

    @property
    def slices(self) -> dict[str, Any]:
        """Slice name -> rows and metrics."""
        return self.results.slices.to_dict()

    @property
    def fairness(self) -> dict[str, Any]:
        """Sensitive column -> parity/odds figures and per-group rates."""
        return self.results.fairness.to_dict()

    @property
    def robustness(self) -> dict[str, Any]:
        """Perturbation -> metric, drop and error."""
        return self.results.robustness.to_dict()

    @property
    def behaviour_tests(self) -> list[dict[str, Any]]:
        """Invariance and directional test results."""
        return self.results.behaviour_tests.to_dict()

    @property
    def infra(self) -> dict[str, Any]:
        """Fresh-process load, latency, size and memory (empty when not checked)."""
        return {} if self.results.infra is None else self.results.infra.to_dict()

    @property
    def analysis(self) -> dict[str, Any]:
        """Permutation importance and partial dependence (empty when not run)."""
        return {} if self.results.analysis is None else self.results.analysis.to_dict()

    @property
    def leakage(self) -> list[dict[str, Any]] | None:
        """Leakage findings (None when not checked)."""
        return None if self.results.leakage is None else self.results.leakage.to_dict()

    @property
    def curves(self) -> dict[str, Any]:
        """ROC/PR/calibration points and the confusion matrix."""
        return self.results.curves.to_dict()

    @property
    def reference(self) -> dict[str, Any] | None:
        """The reference model's URI and metrics (no-regression gates)."""
        return None if self.results.reference is None else self.results.reference.to_dict()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (non-finite numbers become null); the stored form."""
        body = {
            "model_uri": self.model_uri,
            "task": self.task,
            "rows": self.rows,
            "data_fingerprint": self.data_fingerprint,
            "passed": self.passed,
            **self.results.to_dict(),  # metrics ... reference, in the stored order
            "gates": [g.to_dict() for g in self.gates],
            "gates_source": self.gates_source,
            "evaluation_id": self.evaluation_id,
        }
        cleaned: dict[str, Any] = _clean(body)
        return cleaned

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationReport:
        """A report from its :meth:`to_dict` form (e.g. a stored report's JSON)."""
        return cls(
            model_uri=str(data.get("model_uri", "")),
            task=str(data.get("task", "")),
            rows=int(data.get("rows", 0)),
            data_fingerprint=str(data.get("data_fingerprint", "")),
            results=CheckResults.from_dict(data),
            gates=tuple(GateResult.from_dict(g) for g in data.get("gates") or ()),
            gates_source=data.get("gates_source"),
            evaluation_id=data.get("evaluation_id"),
        )

    def to_json(self) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=1, sort_keys=False)

    def to_html(self) -> str:
        """The report as a self-contained HTML page with plots."""
        return render_html(self.to_dict())

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write HTML (``.html``) or JSON (anything else) to ``path``."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_html() if target.suffix == ".html" else self.to_json())
        return target

    def raise_for_gates(self) -> None:
        """Raise GateFailed listing every failed rule (no-op when all passed)."""
        failed = self.failures
        if failed:
            lines = "; ".join(f"{g.rule} (measured {g.measured}, bound {g.bound})" for g in failed)
            raise GateFailed(
                f"{len(failed)} gate rule(s) failed for {self.model_uri}: {lines}",
                hint="See the report for every rule; fix the model or the data and evaluate again.",
                failures=[g.to_dict() for g in failed],
            )
