"""The closed loop: trigger rules, the action chain they start, readiness and CI files.

A trigger (:func:`add_trigger`, or YAML through :func:`load_rules`) watches a schedule, a
dataset branch, drift, a metric, an upstream model or nothing (manual); :func:`check`
observes it once and fires it through debounce, cool-down and a daily budget (a dry-run
trigger records what it would have done). A firing starts a chain, :func:`run_chain`:
check the new data (schema and poisoning), train, evaluate against the champion with the
gates (a failing candidate is registered as rejected), register, canary, then promote
(waiting for an approval when a policy asks) or roll back; every step is a trigger event
and lineage runs alert -> event -> pipeline run -> model version -> deployment.
:func:`rows_since` and :func:`update_model` serve incremental retraining;
:func:`run_loop` is what ``loopml agent`` runs; :func:`readiness` is the production
checklist and :func:`ci_file` writes a CI pipeline for GitHub, GitLab or Jenkins.
"""

from loopml.triggers._agent import AgentStats, TickResult, run_loop, serve_health, tick
from loopml.triggers._chain import (
    STEPS,
    ChainResult,
    pending_chains,
    run_chain,
)
from loopml.triggers._ci import CI_KINDS, CiStage, ci_file, ci_stages, write_ci_file
from loopml.triggers._conditions import Observation, observe
from loopml.triggers._data_check import CheckItem, DataCheck, poisoning_check
from loopml.triggers._fire import CheckResult, check, check_all, fire, history
from loopml.triggers._incremental import rows_since, update_model
from loopml.triggers._policy import PolicyDecision, decide
from loopml.triggers._readiness import Readiness, ReadinessItem, readiness
from loopml.triggers._rules import (
    add_trigger,
    get_trigger,
    list_triggers,
    load_rules,
    remove_trigger,
    save_trigger,
)

__all__ = [
    "CI_KINDS",
    "STEPS",
    "AgentStats",
    "ChainResult",
    "CheckItem",
    "CheckResult",
    "CiStage",
    "DataCheck",
    "Observation",
    "PolicyDecision",
    "Readiness",
    "ReadinessItem",
    "TickResult",
    "add_trigger",
    "check",
    "check_all",
    "ci_file",
    "ci_stages",
    "decide",
    "fire",
    "get_trigger",
    "history",
    "list_triggers",
    "load_rules",
    "observe",
    "pending_chains",
    "poisoning_check",
    "readiness",
    "remove_trigger",
    "rows_since",
    "run_chain",
    "run_loop",
    "save_trigger",
    "serve_health",
    "tick",
    "update_model",
    "write_ci_file",
]
