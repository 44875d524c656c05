"""THE table of the REST API: one :class:`Operation` per Store method.

Both the server's routes and :class:`~loopml.store.rest.RestStore`'s methods are generated
from :data:`OPERATIONS`, so the two cannot drift apart. Each row is derived from the Store
protocol's signature and type hints: the HTTP method (GET for a read whose arguments are
all scalars, carried in the query string; POST with a JSON body otherwise), the path
``/api/v1/<area>/<method-name>``, the permission of the governance matrix the route needs,
and the codecs of every argument and of the result.
"""

from __future__ import annotations

import enum
import inspect
import sys
import types
import typing
from dataclasses import dataclass
from typing import Any

from loopml.store import _operations
from loopml.store import protocols as p
from loopml.store.rest._codec import namespace

#: Protocol -> (area in the path, permission to read, permission to write).
AREAS: dict[type, tuple[str, str, str]] = {
    p.RunStore: ("runs", "runs.read", "runs.write"),
    p.LineageStore: ("lineage", "runs.read", "runs.write"),
    p.DatasetStore: ("datasets", "data.read", "data.write"),
    p.ModelStore: ("models", "models.read", "models.write"),
    p.ApprovalStore: ("approvals", "models.read", "models.promote"),
    p.EvaluationStore: ("evaluations", "models.read", "models.write"),
    p.PipelineStore: ("pipelines", "runs.read", "pipelines.run"),
    p.LeaseStore: ("leases", "runs.read", "pipelines.run"),
    p.ReferenceStore: ("references", "users.admin", "users.admin"),
    _operations.FeatureStore: ("features", "data.read", "data.write"),
    _operations.GovernanceStore: ("governance", "users.admin", "users.admin"),
    _operations.PredictionStore: ("predictions", "deployments.read", "deployments.write"),
    _operations.DeploymentStore: ("deployments", "deployments.read", "deployments.write"),
    _operations.AlertStore: ("alerts", "deployments.read", "deployments.write"),
    _operations.MonitorStore: ("monitor", "deployments.read", "deployments.write"),
    _operations.TriggerStore: ("triggers", "deployments.read", "deployments.write"),
}

#: Operations whose permission is not their area's.
PERMISSION_OVERRIDES: dict[str, str] = {
    "set_alias": "models.promote",
    "create_promotion_request": "models.request",
    "add_decision": "models.approve",
    "create_token": "tokens.create",
    "list_audit_events": "audit.read",
    "audit_head": "audit.read",
    "list_checkpoints": "audit.read",
    "save_checkpoint": "audit.checkpoint",
    # Every signed-in account may read its own record and append audit entries (the
    # server records them under the caller's name); "" means "authenticated only".
    "append_audit": "",
    "get_user": "",
    "list_role_bindings": "",
    "list_role_permissions": "",
    "get_token": "",
    "list_tokens": "",
    "revoke_token": "",
}

_READ_PREFIXES = ("get_", "list_", "find_", "search_", "count_")
_READS = {
    "metric_history",
    "metric_summaries",
    "upstream",
    "downstream",
    "alias_history",
    "artifact_references",
    "feature_definition_history",
    "audit_head",
    "deployment_events",
}


@dataclass(frozen=True)
class Param:
    """One argument of an operation."""

    name: str
    hint: Any
    keyword_only: bool
    default: Any  # inspect.Parameter.empty when required

    @property
    def required(self) -> bool:
        """True when the caller must give it."""
        return self.default is inspect.Parameter.empty


@dataclass(frozen=True)
class Operation:
    """One Store method as an HTTP route."""

    name: str
    area: str
    http: str
    path: str
    permission: str  # "" : any authenticated account
    write: bool
    params: tuple[Param, ...]
    returns: Any
    doc: str


def _scalar(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return all(_scalar(a) for a in typing.get_args(hint))
    if hint in (str, int, float, bool, type(None)):
        return True
    return isinstance(hint, type) and issubclass(hint, enum.Enum)


def _is_read(name: str) -> bool:
    return name.startswith(_READ_PREFIXES) or name in _READS


def _operation(protocol: type, name: str) -> Operation:
    area, read_perm, write_perm = AREAS[protocol]
    method = vars(protocol)[name]
    module = sys.modules[protocol.__module__]
    hints = typing.get_type_hints(method, globalns={**namespace(), **vars(module)})
    params = tuple(
        Param(q.name, hints[q.name], q.kind is inspect.Parameter.KEYWORD_ONLY, q.default)
        for q in list(inspect.signature(method).parameters.values())[1:]
    )
    read = _is_read(name)
    http = "GET" if read and all(_scalar(q.hint) for q in params) else "POST"
    permission = PERMISSION_OVERRIDES.get(name, read_perm if read else write_perm)
    return Operation(
        name=name,
        area=area,
        http=http,
        path=f"/api/v1/{area}/{name.replace('_', '-')}",
        permission=permission,
        write=not read,
        params=params,
        returns=hints.get("return", type(None)),
        doc=inspect.getdoc(method) or name,
    )


def _build() -> dict[str, Operation]:
    out: dict[str, Operation] = {}
    for protocol in AREAS:
        for name, value in vars(protocol).items():
            if not name.startswith("_") and callable(value):
                out[name] = _operation(protocol, name)
    return out


#: Every Store method (but ``close``) by name.
OPERATIONS: dict[str, Operation] = _build()
