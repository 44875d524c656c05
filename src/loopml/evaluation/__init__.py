"""Evaluation: metrics, slices, fairness, robustness, infrastructure checks, analysis,
leakage checks, HTML/JSON reports, and gates (``gates.yaml``) that judge them.

``evaluate(model_uri, data, target, gates=...)`` runs one check per kind of result
(:class:`MetricsCheck`, :class:`SlicesCheck`, ... named in ``plugins.BUILTIN["checks"]``),
collects their typed sections in an :class:`EvaluationReport`, judges it against the gate
rules (thresholds, no regression against an alias, slice minimums, fairness gaps,
robustness drops, latency/size budgets, no leakage) and records the evaluation on the
model version, so promotion can require green gates.
"""

from loopml.evaluation._checks import (
    AnalysisCheck,
    BehaviourCheck,
    Check,
    CurvesCheck,
    FairnessCheck,
    InfraCheck,
    LeakageCheck,
    MetricsCheck,
    RobustnessCheck,
    SlicesCheck,
)
from loopml.evaluation._context import EvaluationContext, read_table
from loopml.evaluation._evaluate import evaluate
from loopml.evaluation._gates import GateResult, Gates, Rule, load_gates, parse_gates
from loopml.evaluation._judge import judge
from loopml.evaluation._metrics import (
    CLASSIFICATION_METRICS,
    LOWER_IS_BETTER,
    REGRESSION_METRICS,
    classification_metrics,
    regression_metrics,
)
from loopml.evaluation._reference import ReferenceCheck
from loopml.evaluation._report import EvaluationReport
from loopml.evaluation._results import (
    AnalysisResult,
    BehaviourResult,
    BehaviourTestResult,
    CheckResults,
    ColumnFairness,
    Curve,
    CurvesResult,
    FairnessResult,
    GroupRates,
    InfraResult,
    LeakageFinding,
    LeakageResult,
    MetricsResult,
    PerturbationResult,
    ReferenceResult,
    RobustnessResult,
    SliceResult,
    SlicesResult,
)
from loopml.evaluation._robustness import DirectionalTest, InvarianceTest
from loopml.evaluation._slices import Slice, fairness

__all__ = [
    "CLASSIFICATION_METRICS",
    "LOWER_IS_BETTER",
    "REGRESSION_METRICS",
    "AnalysisCheck",
    "AnalysisResult",
    "BehaviourCheck",
    "BehaviourResult",
    "BehaviourTestResult",
    "Check",
    "CheckResults",
    "ColumnFairness",
    "Curve",
    "CurvesCheck",
    "CurvesResult",
    "DirectionalTest",
    "EvaluationContext",
    "EvaluationReport",
    "FairnessCheck",
    "FairnessResult",
    "GateResult",
    "Gates",
    "GroupRates",
    "InfraCheck",
    "InfraResult",
    "InvarianceTest",
    "LeakageCheck",
    "LeakageFinding",
    "LeakageResult",
    "MetricsCheck",
    "MetricsResult",
    "PerturbationResult",
    "ReferenceCheck",
    "ReferenceResult",
    "RobustnessCheck",
    "RobustnessResult",
    "Rule",
    "Slice",
    "SliceResult",
    "SlicesCheck",
    "SlicesResult",
    "classification_metrics",
    "evaluate",
    "fairness",
    "judge",
    "load_gates",
    "parse_gates",
    "read_table",
    "regression_metrics",
]
