"""A/B decisions from the prediction log: per-arm outcomes, the sequential test, the split.

Each look reads every row the deployment logged since it was created, takes one outcome
per labelled row (the spec's ``ab.metric``: a live metric such as ``accuracy``, or the
label itself as a number) and runs :class:`~loopml.deploy.SequentialTest` on the stable
arm (control) against the candidate (treatment), continuing the running p-value and
interval of the previous look, so the error rate holds however often it looks. The
sample-ratio check (:func:`~loopml.deploy.srm_check`) compares the requests per arm with
the configured weights first: a broken split is flagged and no decision is taken on it.

The decision: ``promote`` (the treatment is better), ``keep`` (the control is better, or
the difference is inside the practical band), ``srm`` (the split is broken: pause) or
``continue``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopml.deploy._samples import live_values, requests
from loopml.deploy._sequential import Decision, SequentialResult, SequentialTest
from loopml.deploy._stats import ArmSummary, srm_check

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd

    from loopml.deploy._analysis import AbSpec

CONTINUE = "continue"
PROMOTE = "promote"
KEEP = "keep"
SRM = "srm"


@dataclass(frozen=True)
class AbStatus:
    """One look at an A/B deployment.

    Attributes:
        control: The control (stable) arm's name.
        treatment: The treatment arm's name.
        arms: Arm -> ``requests``, ``n`` (labelled outcomes), ``mean``, ``variance``.
        result: The sequential test after this look (estimate, interval, p-value...).
        srm: The sample-ratio check of the requests against the weights.
        decision: ``promote``, ``keep``, ``srm`` or ``continue``.
        reason: One line for people.
    """

    control: str
    treatment: str
    arms: dict[str, dict[str, float]]
    result: SequentialResult
    srm: dict[str, Any] = field(default_factory=dict)
    decision: str = CONTINUE
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "control": self.control,
            "treatment": self.treatment,
            "arms": self.arms,
            "result": self.result.to_dict(),
            "srm": self.srm,
            "decision": self.decision,
            "reason": self.reason,
        }


def result_from_dict(data: Mapping[str, Any]) -> SequentialResult:
    """The inverse of :meth:`SequentialResult.to_dict` (None ends are infinite)."""
    lower, upper = data.get("lower"), data.get("upper")
    return SequentialResult(
        Decision(data["decision"]),
        float(data["estimate"]),
        -math.inf if lower is None else float(lower),
        math.inf if upper is None else float(upper),
        float(data["p_value"]),
        int(data["n_control"]),
        int(data["n_treatment"]),
        str(data.get("reason", "")),
        int(data.get("looks", 1)),
    )


def ab_look(
    frame: pd.DataFrame,
    weights: Mapping[str, int],
    spec: AbSpec,
    *,
    control: str,
    treatment: str,
    previous: SequentialResult | None = None,
    score: str = "",
    prediction: str = "",
) -> AbStatus:
    """One look at the log rows of an A/B deployment so far; pure, no I/O.

    Args:
        frame: The deployment's prediction-log rows (columns as ``read_predictions``).
        weights: The configured split (arm -> percent).
        spec: The test's settings.
        control: The control arm.
        treatment: The treatment arm.
        previous: The last look's result (None: the first look).
        score: The score output (for ``abs_error``-style metrics).
        prediction: The prediction output (for ``accuracy``).
    """
    arms: dict[str, dict[str, float]] = {}
    summaries: dict[str, ArmSummary] = {}
    for arm in (control, treatment):
        rows = frame[frame["arm"] == arm] if len(frame) else frame
        values = live_values(rows, spec.metric, score=score, prediction=prediction)
        summary = ArmSummary.from_samples(values)
        summaries[arm] = summary
        arms[arm] = {"requests": int(len(requests(rows))), **summary.to_dict()}
    test = SequentialTest(
        alpha=spec.alpha,
        min_sample=spec.min_samples,
        practical=spec.practical,
        higher_is_better=spec.higher_is_better,
    )
    result = test.evaluate(summaries[control], summaries[treatment], previous)
    split = {a: w for a, w in weights.items() if a in (control, treatment) and w > 0}
    srm: dict[str, Any] = {}
    if len(split) == 2:
        check = srm_check({a: int(arms[a]["requests"]) for a in split}, split, alpha=spec.srm_alpha)
        srm = check.to_dict()
        if check.mismatch:
            return AbStatus(control, treatment, arms, result, srm, SRM, check.reason)
    decision = {
        Decision.TREATMENT_BETTER: PROMOTE,
        Decision.CONTROL_BETTER: KEEP,
        Decision.NO_DIFFERENCE: KEEP,
    }.get(result.decision, CONTINUE)
    return AbStatus(control, treatment, arms, result, srm, decision, result.reason)
