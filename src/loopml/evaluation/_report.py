"""The evaluation report object returned by ``evaluate``."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import GateFailed
from loopml.evaluation._html import render_html

if TYPE_CHECKING:
    import os

    from loopml.evaluation._gates import GateResult


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


@dataclass
class EvaluationReport:
    """Everything measured about a model on one data set, and the gates' verdict.

    Attributes:
        model_uri: What was evaluated.
        task: ``"classification"`` or ``"regression"``.
        rows: Evaluation rows.
        metrics: Overall metrics.
        slices: Slice name -> rows and metrics.
        fairness: Sensitive column -> parity/odds figures and per-group rates.
        robustness: Perturbation -> metric, drop and error.
        behaviour_tests: Invariance and directional test results.
        infra: Fresh-process load, latency, size and memory.
        analysis: Permutation importance and partial dependence.
        leakage: Findings (None when not checked).
        curves: ROC/PR/calibration points and the confusion matrix.
        reference: The reference model's URI and metrics (no-regression gates).
        gates: Every gate rule's verdict.
        evaluation_id: Id of the recorded evaluation (None when not recorded).
        report_digest: Artifact digest of the stored JSON report.
    """

    model_uri: str
    task: str
    rows: int
    metrics: dict[str, float]
    data_fingerprint: str = ""
    slices: dict[str, Any] = field(default_factory=dict)
    fairness: dict[str, Any] = field(default_factory=dict)
    robustness: dict[str, Any] = field(default_factory=dict)
    behaviour_tests: list[dict[str, Any]] = field(default_factory=list)
    infra: dict[str, Any] = field(default_factory=dict)
    analysis: dict[str, Any] = field(default_factory=dict)
    leakage: list[dict[str, Any]] | None = None
    curves: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, Any] | None = None
    gates: list[GateResult] = field(default_factory=list)
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (non-finite numbers become null)."""
        body = {
            "model_uri": self.model_uri,
            "task": self.task,
            "rows": self.rows,
            "data_fingerprint": self.data_fingerprint,
            "passed": self.passed,
            "metrics": self.metrics,
            "slices": self.slices,
            "fairness": self.fairness,
            "robustness": self.robustness,
            "behaviour_tests": self.behaviour_tests,
            "infra": self.infra,
            "analysis": self.analysis,
            "leakage": self.leakage,
            "curves": self.curves,
            "reference": self.reference,
            "gates": [g.to_dict() for g in self.gates],
            "gates_source": self.gates_source,
            "evaluation_id": self.evaluation_id,
        }
        cleaned: dict[str, Any] = _clean(body)
        return cleaned

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
