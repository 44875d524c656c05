"""Evaluation: metrics, slices, fairness, robustness, infrastructure checks, analysis,
leakage checks, HTML/JSON reports, and gates (``gates.yaml``) that judge them.

``evaluate(model_uri, data, target, gates=...)`` measures a model, judges it against the
gate rules (thresholds, no regression against an alias, slice minimums, fairness gaps,
robustness drops, latency/size budgets, no leakage) and records the evaluation on the
model version, so promotion can require green gates.
"""

from loopml.evaluation._evaluate import evaluate, read_table
from loopml.evaluation._gates import GateResult, Gates, Rule, judge, load_gates, parse_gates
from loopml.evaluation._metrics import (
    CLASSIFICATION_METRICS,
    LOWER_IS_BETTER,
    REGRESSION_METRICS,
    classification_metrics,
    regression_metrics,
)
from loopml.evaluation._report import EvaluationReport
from loopml.evaluation._robustness import DirectionalTest, InvarianceTest
from loopml.evaluation._slices import Slice, fairness

__all__ = [
    "CLASSIFICATION_METRICS",
    "LOWER_IS_BETTER",
    "REGRESSION_METRICS",
    "DirectionalTest",
    "EvaluationReport",
    "GateResult",
    "Gates",
    "InvarianceTest",
    "Rule",
    "Slice",
    "classification_metrics",
    "evaluate",
    "fairness",
    "judge",
    "load_gates",
    "parse_gates",
    "read_table",
    "regression_metrics",
]
