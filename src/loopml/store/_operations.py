"""Store protocols of the operational aggregates: feature definitions, governance (users,
tokens, roles, the audit log), the prediction log, deployments and alerts.
tokens, roles, the audit log), the prediction log, deployments and triggers.

Split from :mod:`loopml.store.protocols`, which composes them into ``Store`` and
re-exports them; the same rules hold (plain values and frozen entities only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from loopml.entities import (
        AccountKind,
        Alert,
        AlertState,
        AuditEntry,
        AuditEvent,
        Checkpoint,
        Deployment,
        DeploymentEvent,
        DeploymentEventKind,
        DeploymentStatus,
        FeatureDefinition,
        FeatureWatermark,
        Feedback,
        FeedbackEntry,
        LineageEdge,
        MonitorWindow,
        PredictionSegment,
        RoleBinding,
        RolePermission,
        Token,
        Trigger,
        TriggerEvent,
        TriggerEventKind,
        User,
    )


class FeatureStore(Protocol):
    """Feature definitions (append-only versions by digest) and materialisation watermarks."""

    def put_feature_definition(
        self, *, actor: str, kind: str, name: str, digest: str, spec: Mapping[str, object]
    ) -> tuple[FeatureDefinition, bool]:
        """Add a version unless the newest has the same digest; (newest, created now)."""
        ...

    def get_feature_definition(
        self, kind: str, name: str, version: int | None = None
    ) -> FeatureDefinition:
        """The newest (or the numbered) version of a definition; NotFound if absent."""
        ...

    def list_feature_definitions(self, kind: str | None = None) -> list[FeatureDefinition]:
        """The newest version of every definition (of one kind), by kind then name."""
        ...

    def feature_definition_history(self, kind: str, name: str) -> list[FeatureDefinition]:
        """Every version of one definition, newest first."""
        ...

    def set_feature_watermark(
        self, view: str, target: str, *, watermark_ms: int | None, end_ms: int, rows: int
    ) -> FeatureWatermark:
        """Record a finished materialisation of ``view`` into ``target``."""
        ...

    def list_feature_watermarks(self, view: str | None = None) -> list[FeatureWatermark]:
        """Materialisation progress of every view (or one)."""
        ...


@runtime_checkable
class GovernanceStore(Protocol):
    """Accounts, API tokens (hashes only), role bindings and overrides, the audit log.

    Every change here appends an audit entry in the same transaction.
    """

    def create_user(
        self, name: str, *, actor: str, kind: AccountKind | str = "user", display_name: str = ""
    ) -> User:
        """Create an account (a user or a service account); Conflict if the name is taken."""
        ...

    def get_user(self, name: str) -> User:
        """Return an account; NotFound if absent."""
        ...

    def list_users(self) -> list[User]:
        """Every account, by name."""
        ...

    def set_user_disabled(self, name: str, disabled: bool, *, actor: str) -> User:
        """Disable or enable an account."""
        ...

    def create_token(self, token: Token, *, actor: str) -> Token:
        """Record a token (its hash only) for an existing account."""
        ...

    def get_token(self, token_id: str) -> Token:
        """Return a token record; NotFound if absent."""
        ...

    def list_tokens(self, user: str | None = None) -> list[Token]:
        """Tokens of one account (or all), newest first."""
        ...

    def revoke_token(self, token_id: str, *, actor: str) -> Token:
        """Revoke a token for good."""
        ...

    def grant_role(self, user: str, role: str, *, actor: str, project: str = "*") -> RoleBinding:
        """Bind a role to an account in a project (``*``: all)."""
        ...

    def revoke_role(self, user: str, role: str, *, actor: str, project: str = "*") -> None:
        """Remove a role binding; NotFound if absent."""
        ...

    def list_role_bindings(self, user: str | None = None) -> list[RoleBinding]:
        """Role bindings of one account (or all)."""
        ...

    def set_role_permission(
        self, project: str, role: str, permission: str, allowed: bool | None, *, actor: str
    ) -> None:
        """Override the default permission matrix for a project (None: remove the override)."""
        ...

    def list_role_permissions(self, project: str | None = None) -> list[RolePermission]:
        """Overrides of the default matrix."""
        ...

    def append_audit(self, entry: AuditEntry) -> AuditEvent:
        """Append one audit entry in its own transaction."""
        ...

    def list_audit_events(
        self,
        *,
        offset: int = 0,
        limit: int | None = 1000,
        actor: str | None = None,
        action: str | None = None,
        object_kind: str | None = None,
        object_id: str | None = None,
        outcome: str | None = None,
    ) -> list[AuditEvent]:
        """Audit events ordered by index; ``action`` ending in ``*`` matches a prefix."""
        ...

    def audit_head(self) -> tuple[int, str]:
        """The recorded size and root (hex) of the log."""
        ...

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Keep a signed tree head; Conflict if that size is stored with another root."""
        ...

    def list_checkpoints(self) -> list[Checkpoint]:
        """Stored signed tree heads, smallest first."""


class PredictionStore(Protocol):
    """The prediction log's index: sealed segments, the ids in them, and feedback."""

    def add_prediction_segment(
        self,
        segment: PredictionSegment,
        prediction_ids: Sequence[str],
        *,
        edges: Sequence[LineageEdge] = (),
    ) -> PredictionSegment:
        """Index a sealed segment with its prediction ids and lineage, in one transaction.

        Conflict if a segment with this id is indexed already (sealing is retried after a
        crash, and the retry must not index the file twice).
        """
        ...

    def get_prediction_segment(self, segment_id: str) -> PredictionSegment:
        """Return one segment; NotFound if absent."""
        ...

    def list_prediction_segments(
        self,
        *,
        model: str | None = None,
        version: int | None = None,
        deployment: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
    ) -> list[PredictionSegment]:
        """Segments whose time range meets ``[since_ms, until_ms]``, oldest first."""
        ...

    def find_predictions(self, prediction_ids: Sequence[str]) -> dict[str, list[str]]:
        """The segment ids holding each of ``prediction_ids`` (ids not indexed are absent)."""
        ...

    def log_feedback(self, entries: Sequence[FeedbackEntry], *, actor: str) -> list[Feedback]:
        """Record labels (the latest wins and ``updates`` counts them), in one transaction.

        Labels must be JSON-serialisable (InvalidInput otherwise). The ids are not checked
        here: the caller knows about predictions not yet sealed.
        """
        ...

    def get_feedback(self, prediction_ids: Sequence[str]) -> list[Feedback]:
        """Every label of the given predictions, by id then row (whole-prediction first)."""
        ...


@runtime_checkable
class DeploymentStore(Protocol):
    """Deployments (an endpoint bound to model versions) with a revision counter, and events.

    Every write records a deployment event and an audit entry in the same transaction.
    """

    def create_deployment(
        self, deployment: Deployment, *, actor: str, reason: str = ""
    ) -> Deployment:
        """Store a new deployment at revision 1; Conflict if the name is taken."""
        ...

    def get_deployment(self, name: str) -> Deployment:
        """Return a deployment; NotFound if absent."""
        ...

    def list_deployments(self, status: DeploymentStatus | str | None = None) -> list[Deployment]:
        """Every deployment (with one status), by name."""
        ...

    def update_deployment(
        self,
        deployment: Deployment,
        *,
        actor: str,
        kind: DeploymentEventKind | str,
        reason: str = "",
        detail: Mapping[str, object] | None = None,
    ) -> Deployment:
        """Write ``deployment`` if its ``revision`` is the stored one (Conflict otherwise);
        returns it at the next revision."""
        ...

    def deployment_events(self, name: str) -> list[DeploymentEvent]:
        """Every event of a deployment, oldest first."""
        ...


@runtime_checkable
class AlertStore(Protocol):
    """Monitoring alerts: fired, then resolved; every write is audited in its transaction."""

    def add_alert(self, alert: Alert, *, actor: str, edges: Sequence[LineageEdge] = ()) -> Alert:
        """Store a firing alert (with its lineage) in one transaction; Conflict if the id
        is stored already."""
        ...

    def resolve_alert(self, alert_id: str, *, actor: str, resolved_at_ms: int) -> Alert:
        """Mark a firing alert resolved; NotFound if absent, Conflict if resolved already."""
        ...

    def get_alert(self, alert_id: str) -> Alert:
        """Return one alert; NotFound if absent."""
        ...

    def list_alerts(
        self,
        *,
        state: AlertState | str | None = None,
        deployment: str | None = None,
        rule: str | None = None,
        since_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Alert]:
        """Alerts (in one state, of one deployment or rule, fired at or after ``since_ms``),
        newest first."""


class MonitorStore(Protocol):
    """Monitor windows (upserted by scope, plan and start) and cached per-segment sketches."""

    def put_monitor_window(
        self, window: MonitorWindow, *, actor: str, edges: Sequence[LineageEdge] = ()
    ) -> MonitorWindow:
        """Store a window, or replace the one with its scope, plan and start (keeping
        its id and ``created_at_ms``), with its lineage edges and an audit entry."""
        ...

    def get_monitor_window(self, window_id: str) -> MonitorWindow:
        """Return one window; NotFound if absent."""
        ...

    def list_monitor_windows(
        self,
        *,
        scope: str | None = None,
        plan: str | None = None,
        since_ms: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[MonitorWindow]:
        """Windows (of one scope and plan), by start time; ``since_ms``: ending after it."""
        ...

    def put_monitor_sketch(self, segment_id: str, key: str, body: str) -> None:
        """Cache the sketch of one segment under ``key`` (a second put is ignored)."""
        ...

    def get_monitor_sketches(self, segment_ids: Sequence[str], key: str) -> dict[str, str]:
        """The cached sketches of those segments under ``key`` (absent ones left out)."""


class TriggerStore(Protocol):
    """Trigger rules (compare-and-set on ``revision``) and their events, all audited."""

    def create_trigger(self, trigger: Trigger, *, actor: str) -> Trigger:
        """Store a new trigger at revision 1; Conflict if the name is taken."""
        ...

    def get_trigger(self, name: str) -> Trigger:
        """Return a trigger; NotFound if absent."""
        ...

    def list_triggers(self) -> list[Trigger]:
        """Every trigger, by name."""
        ...

    def delete_trigger(self, name: str, *, actor: str) -> Trigger:
        """Remove a trigger (its events stay); NotFound if absent."""
        ...

    def update_trigger(
        self,
        name: str,
        *,
        revision: int,
        actor: str,
        state: Mapping[str, object] | None = None,
        last_fired_at_ms: int | None = None,
        enabled: bool | None = None,
    ) -> Trigger:
        """Change state, last firing or enabled if ``revision`` is the stored one (Conflict
        otherwise); returns it at the next revision."""
        ...

    def add_trigger_event(self, event: TriggerEvent, *, actor: str) -> TriggerEvent:
        """Record one event (``id`` and ``at_ms`` are set when empty)."""
        ...

    def list_trigger_events(
        self,
        *,
        trigger: str | None = None,
        chain_id: str | None = None,
        kind: TriggerEventKind | str | None = None,
        since_ms: int | None = None,
        limit: int | None = None,
    ) -> list[TriggerEvent]:
        """Events, oldest first (``limit``: the newest that many)."""
        ...

    def count_trigger_events(
        self, trigger: str, kind: TriggerEventKind | str, *, since_ms: int
    ) -> int:
        """How many events of ``kind`` ``trigger`` recorded at or after ``since_ms``."""
        ...
