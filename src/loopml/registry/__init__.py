"""The model registry: registered models, versions with automatic semantic versions,
aliases with full history, promotion policies with approvals, model cards and packaging.

Promotion is where gates and approvals bite: a guarded alias moves only through
``request_promotion`` -> ``approve`` -> ``promote``, and ``promote`` refuses, with the
reasons, while the version's gates are red or approvals are missing: each reason is a typed
:class:`Blocker` (``GateBlocker`` raises ``GateFailed``, ``ApprovalBlocker``
``PermissionDenied``), kept on the error as ``fields["blockers"]``. Every change is
recorded with who, when and why (``history``/``events``).
"""

from loopml.entities import Actor
from loopml.registry._approvals import (
    approve,
    gates_status,
    get_promotion_policy,
    list_requests,
    promote,
    reject,
    request_promotion,
    rollback,
    set_promotion_policy,
)
from loopml.registry._card import card_data, model_card, render_markdown
from loopml.registry._mlflow import import_mlflow_model
from loopml.registry._packaging import package_model
from loopml.registry._policies import (
    ApprovalBlocker,
    ApprovalsMissing,
    Blocker,
    GateBlocker,
    GatesNotRun,
    GatesRed,
    RequestClosed,
    RequestRejected,
    VersionFacts,
    bump_for,
    next_semver,
)
from loopml.registry._register import register_model
from loopml.registry._service import (
    alias_history,
    create_model,
    delete_alias,
    get_model,
    get_version,
    list_models,
    list_versions,
    set_alias,
    update_version,
)

__all__ = [
    "Actor",
    "ApprovalBlocker",
    "ApprovalsMissing",
    "Blocker",
    "GateBlocker",
    "GatesNotRun",
    "GatesRed",
    "RequestClosed",
    "RequestRejected",
    "VersionFacts",
    "alias_history",
    "approve",
    "bump_for",
    "card_data",
    "create_model",
    "delete_alias",
    "gates_status",
    "get_model",
    "get_promotion_policy",
    "get_version",
    "import_mlflow_model",
    "list_models",
    "list_requests",
    "list_versions",
    "model_card",
    "next_semver",
    "package_model",
    "promote",
    "register_model",
    "reject",
    "render_markdown",
    "request_promotion",
    "rollback",
    "set_alias",
    "set_promotion_policy",
    "update_version",
]
