"""Deployments and rollouts: canary with automated analysis, shadow, A/B with anytime-valid
statistics, blue-green and rollback.

The statistics are pure functions: :class:`SequentialTest` (a mixture sequential
probability ratio test, Johari, Pekelis & Walsh's "always valid inference", whose error
rate holds however often it is looked at), :func:`srm_check` (a sample-ratio-mismatch
check of the split) and :class:`Judge` (a Mann-Whitney comparison of a canary metric with
the stable arm, with a practical-significance band and absolute bounds).

Deployments (stored in the metadata store, with a revision counter and an event history):
:func:`create`, :func:`get`, :func:`list_deployments`, :func:`set_weights`,
:func:`advance` (the next canary step), :func:`pause`, :func:`resume`, :func:`promote`
(through the registry's promotion rules; a missing approval pauses the deployment),
:func:`rollback` and :func:`history`. The analysis of a rollout: :func:`load_analysis`
(YAML or a dict, file:line errors), :func:`judge_interval` and :func:`next_action`.

The controller: :func:`step_rollout` (one tick: read each arm's samples from the
prediction log, judge, act; all state in the store, a lease per deployment) and
:func:`run_rollout` (ticks until done); :func:`ab_status` (an A/B deployment's arms,
estimate, interval and decision), :func:`shadow_report` (the shadow arm against the
stable one, paired by prediction id).
"""

from loopml.deploy._ab import AbStatus, ab_look
from loopml.deploy._analysis import (
    WEBHOOK_EVENTS,
    AbSpec,
    Action,
    AnalysisOutcome,
    AnalysisSpec,
    MetricCheck,
    Verdict,
    WebhookTarget,
    judge_interval,
    load_analysis,
    next_action,
)
from loopml.deploy._controller import LEASE_TTL_S, Tick, ab_status, run_rollout, step_rollout
from loopml.deploy._judge import Judge, JudgeResult, Outcome, hodges_lehmann
from loopml.deploy._promotion import AWAITING_APPROVAL, promote, rollback
from loopml.deploy._sequential import (
    Decision,
    SequentialResult,
    SequentialTest,
    naive_z_pvalues,
    tuned_effect_scale,
)
from loopml.deploy._service import (
    advance,
    create,
    get,
    history,
    list_deployments,
    pause,
    resume,
    set_weights,
)
from loopml.deploy._shadow import ShadowReport, compare_arms, shadow_report
from loopml.deploy._stats import SRM_ALPHA, ArmSummary, SrmResult, srm_check

__all__ = [
    "AWAITING_APPROVAL",
    "LEASE_TTL_S",
    "SRM_ALPHA",
    "WEBHOOK_EVENTS",
    "AbSpec",
    "AbStatus",
    "Action",
    "AnalysisOutcome",
    "AnalysisSpec",
    "ArmSummary",
    "Decision",
    "Judge",
    "JudgeResult",
    "MetricCheck",
    "Outcome",
    "SequentialResult",
    "SequentialTest",
    "ShadowReport",
    "SrmResult",
    "Tick",
    "Verdict",
    "WebhookTarget",
    "ab_look",
    "ab_status",
    "advance",
    "compare_arms",
    "create",
    "get",
    "history",
    "hodges_lehmann",
    "judge_interval",
    "list_deployments",
    "load_analysis",
    "naive_z_pvalues",
    "next_action",
    "pause",
    "promote",
    "resume",
    "rollback",
    "run_rollout",
    "set_weights",
    "shadow_report",
    "srm_check",
    "step_rollout",
    "tuned_effect_scale",
]
