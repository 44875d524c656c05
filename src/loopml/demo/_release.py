"""Demo step 3: evaluate against gates, promote through an approval, write the card."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from loopml import registry
from loopml.datasets import TARGET_COLUMN
from loopml.errors import NotFound
from loopml.evaluation import evaluate
from loopml.registry import Actor

if TYPE_CHECKING:
    from pathlib import Path

    from loopml.artifacts import ArtifactStore
    from loopml.demo._train import Training
    from loopml.evaluation import EvaluationReport
    from loopml.store import Store

MODEL = "fraud"
AUTHOR = Actor("demo-author", ("approver",))
APPROVER = Actor("demo-approver", ("approver",))

# Budgets are loose enough for a busy laptop; the point is that every kind of rule runs.
GATES = """\
metrics:
  roc_auc: {min: 0.85}
  pr_auc: {min: 0.15}
no_regression:
  against: champion
  tolerance: {roc_auc: 0.01}
slices:
  min: {roc_auc: 0.6}
  min_rows: 200
fairness:
  max: {demographic_parity_difference: 0.1}
robustness:
  max_drop: {gaussian_noise: 0.05, category_swap: 0.05, missing_values: 0.05}
infra:
  max_latency_p95_ms: 2000
  max_size_mb: 50
leakage:
  allow: false
"""


@dataclass(frozen=True)
class Release:
    """What evaluation, registration and promotion produced."""

    report: EvaluationReport
    version_number: int
    semver: str
    promoted: bool
    card: Path
    report_html: Path


def write_gates(folder: Path) -> Path:
    """The first champion's gates, as a file the pipeline registers with the version."""
    folder.mkdir(parents=True, exist_ok=True)
    gates = folder / "gates.yaml"
    gates.write_text(GATES)
    return gates


def release(
    training: Training,
    folder: Path,
    *,
    store: Store,
    artifacts: ArtifactStore,
    analysis: bool = True,
) -> Release:
    """Judge the version the pipeline registered by its gates and promote it to
    ``champion`` through one approval (``analysis``: also permutation importance and
    partial dependence, which no gate reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    version = registry.get_version(f"{MODEL}/{training.version_number}", store=store)
    registry.set_promotion_policy(MODEL, "champion", approvals=1, store=store, actor=AUTHOR)
    report = evaluate(
        f"models:/{MODEL}/{version.number}",
        training.test,
        TARGET_COLUMN,
        slices=["device"],
        sensitive=["device"],
        train_data=training.train,
        timestamp_column="timestamp",
        analysis=analysis,
        store=store,
        artifacts=artifacts,
        actor=AUTHOR.name,
    )
    report_html = report.write(folder / f"evaluation-{MODEL}-v{version.number}.html")
    promoted = False
    try:
        current = registry.get_version(f"{MODEL}@champion", store=store).number
    except NotFound:
        current = None
    if report.passed and current == version.number:
        promoted = True  # a demo run before this one on the same home promoted it already
    elif report.passed:
        request = registry.request_promotion(
            MODEL,
            version.number,
            "champion",
            comment="demo: gates green",
            store=store,
            actor=AUTHOR,
        )
        registry.approve(
            request.id, comment="reviewed the gate report", store=store, actor=APPROVER
        )
        registry.promote(request.id, reason="demo release", store=store, actor=AUTHOR)
        promoted = True
    ref = f"{MODEL}@champion" if promoted else f"{MODEL}/{version.number}"
    card = registry.model_card(
        ref, out=folder / f"{MODEL}-card.md", store=store, artifacts=artifacts
    )
    return Release(report, version.number, version.semver, promoted, card, report_html)
