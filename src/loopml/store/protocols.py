"""The Store protocols: one small Protocol per aggregate, composed into :class:`Store`.

Capabilities call these and nothing else. Arguments and results are plain values and
frozen entities, never database rows or sessions, so an HTTP client (``RestStore``) can
implement the same protocols without touching any caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from loopml.store._operations import (
    AlertStore,
    DeploymentStore,
    FeatureStore,
    GovernanceStore,
    MonitorStore,
    PredictionStore,
    TriggerStore,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from loopml.entities import (
        AliasMove,
        ArtifactReferences,
        Dataset,
        DatasetRef,
        DatasetSchema,
        DatasetVersion,
        Evaluation,
        Lease,
        LineageEdge,
        LineageNode,
        Metric,
        MetricSummary,
        ModelEvent,
        ModelVersion,
        PiiPolicy,
        PipelineRun,
        PipelineStatus,
        PromotionPolicy,
        PromotionRequest,
        RefKind,
        RegisteredModel,
        RequestStatus,
        Run,
        RunArtifact,
        RunQuery,
        RunStatus,
        Schedule,
        StepRun,
    )
    from loopml.ids import ObjectRef

#: One metric point on the fast path: (run_id, key, step, timestamp_ms, value or None for NaN).
MetricRow = tuple[str, str, int, int, float | None]


@runtime_checkable
class RunStore(Protocol):
    """Runs with their params, tags and metric points."""

    def create_run(
        self,
        *,
        name: str,
        parent_id: str | None = None,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        notes: str | None = None,
        heartbeat: bool = False,
        artifacts: Sequence[RunArtifact] = (),
    ) -> Run:
        """Create a RUNNING run with its params and tags in one transaction.

        ``heartbeat=True`` stamps a first heartbeat: the run then counts as CRASHED once
        its heartbeat goes stale (see :meth:`mark_stale_runs_crashed`). ``artifacts`` are
        recorded in the same transaction.
        """
        ...

    def get_run(self, run_id: str) -> Run:
        """Return the run with its params and tags; NotFound if absent."""
        ...

    def list_runs(
        self, *, status: RunStatus | None = None, limit: int = 100, offset: int = 0
    ) -> list[Run]:
        """Return runs, newest first."""
        ...

    def set_run_status(self, run_id: str, status: RunStatus, *, error: str | None = None) -> Run:
        """Move a run to ``status``; a terminal status stamps the end time."""
        ...

    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        """Record params; re-logging the same value is a no-op, a different one a Conflict."""
        ...

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set (or overwrite) tags."""
        ...

    def log_metrics(self, run_id: str, metrics: Sequence[Metric]) -> None:
        """Append metric points in one transaction (all or none)."""
        ...

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Return every point of one metric, ordered by step then time."""
        ...

    # -- tracking (0002_tracking) ---------------------------------------------------------

    def append_metric_rows(self, rows: Sequence[MetricRow]) -> None:
        """Append points of any runs in one transaction (all or none), keeping latest values.

        The fast path of the background writer: rows are plain tuples, already validated,
        NaN given as None. NotFound if a run does not exist.
        """
        ...

    def metric_summaries(self, run_ids: Sequence[str]) -> list[MetricSummary]:
        """Latest value, min, max and point count of every metric of the given runs."""
        ...

    def search_runs(self, query: RunQuery) -> list[Run]:
        """Runs matching ``query`` (filter, sort and paging run in the database)."""
        ...

    def count_runs(self, query: RunQuery) -> int:
        """How many runs match ``query`` (its paging ignored)."""
        ...

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        """Stamp the heartbeat of RUNNING runs with the current time."""
        ...

    def mark_stale_runs_crashed(self, stale_before_ms: int) -> list[str]:
        """Move RUNNING runs whose heartbeat is older than ``stale_before_ms`` to CRASHED.

        Returns the ids of the runs moved.
        """
        ...

    def set_notes(self, run_id: str, notes: str) -> None:
        """Replace the free-text notes of a run."""
        ...

    def add_run_artifacts(self, run_id: str, artifacts: Sequence[RunArtifact]) -> None:
        """Record files of a run; a path recorded again points at the new blob."""
        ...

    def list_run_artifacts(self, run_id: str) -> list[RunArtifact]:
        """The files a run recorded, sorted by path."""
        ...

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        """Soft-delete runs (and their child runs); NotFound if one does not exist."""
        ...

    def restore_runs(self, run_ids: Sequence[str]) -> None:
        """Undo a soft delete."""
        ...

    def purge_deleted_runs(self, deleted_before_ms: int) -> list[str]:
        """Remove soft-deleted runs for good; return the blob digests they alone referenced.

        A digest is returned only when no remaining run artifact and no lineage edge
        (``artifact:<digest>``) refers to it, so the caller may delete those blobs.
        """
        ...


@runtime_checkable
class LineageStore(Protocol):
    """Edges between any two objects, and walks over them."""

    def add_edges(self, edges: Sequence[LineageEdge]) -> None:
        """Record edges; recording an existing edge again is a no-op."""
        ...

    def upstream(self, ref: ObjectRef, *, depth: int = 100) -> list[LineageNode]:
        """Edges leading into ``ref``, transitively, at most ``depth`` hops away."""
        ...

    def downstream(self, ref: ObjectRef, *, depth: int = 100) -> list[LineageNode]:
        """Edges leading out of ``ref``, transitively, at most ``depth`` hops away."""
        ...


@runtime_checkable
class DatasetStore(Protocol):
    """Datasets, their versions (commits), refs (branches, tags) and saved schemas."""

    def create_dataset(
        self,
        name: str,
        *,
        pii_policy: PiiPolicy | None = None,
        description: str = "",
        project: str = "default",
    ) -> Dataset:
        """Create a dataset in governance project ``project``; Conflict if the name is taken."""
        ...

    def get_dataset(self, name: str) -> Dataset:
        """Return the dataset named ``name``; NotFound if absent."""
        ...

    def list_datasets(self) -> list[Dataset]:
        """Every dataset, by name."""
        ...

    def set_pii_policy(self, name: str, policy: PiiPolicy) -> Dataset:
        """Change a dataset's PII policy."""
        ...

    def commit_version(
        self,
        version: DatasetVersion,
        *,
        branch: str,
        expected_head: str | None,
        create: Dataset | None = None,
    ) -> DatasetVersion:
        """Record ``version`` and move ``branch`` to it, in one transaction.

        ``version.seq`` is ignored and assigned (1 + the dataset's highest). The branch
        must point at ``expected_head`` (``None``: the branch must not exist yet), else
        Conflict and nothing is written: compare-and-swap on the ref. ``create`` is the
        dataset of a first commit (``create.id == version.dataset_id``): it is inserted in
        the same transaction, so no dataset without versions ever becomes visible; if a
        concurrent first commit created it meanwhile, the version is recorded on that one.
        """
        ...

    def get_version(self, version_id: str) -> DatasetVersion:
        """Return one version by its full id; NotFound if absent."""
        ...

    def find_versions(
        self, dataset_id: str, *, prefix: str | None = None, seq: int | None = None
    ) -> list[DatasetVersion]:
        """Versions of a dataset whose id starts with ``prefix`` or whose seq is ``seq``."""
        ...

    def list_versions(self, dataset_id: str, *, limit: int = 100) -> list[DatasetVersion]:
        """Versions of a dataset, newest first."""
        ...

    def set_ref(
        self,
        dataset_id: str,
        name: str,
        kind: RefKind,
        version_id: str,
        *,
        expected: str | None = None,
        create: bool = True,
    ) -> DatasetRef:
        """Create a ref (``create``: Conflict if it exists) or move a branch from ``expected``."""
        ...

    def get_ref(self, dataset_id: str, name: str) -> DatasetRef | None:
        """The ref named ``name``, or None."""
        ...

    def list_refs(self, dataset_id: str) -> list[DatasetRef]:
        """Every ref of a dataset, by name."""
        ...

    def delete_ref(self, dataset_id: str, name: str) -> None:
        """Remove a branch or tag (the versions stay); NotFound if absent."""
        ...

    def save_schema(
        self, dataset_id: str, digest: str, *, version_id: str | None = None
    ) -> DatasetSchema:
        """Record a schema (stored as an artifact) as the dataset's next schema version."""
        ...

    def list_schemas(self, dataset_id: str) -> list[DatasetSchema]:
        """Saved schemas of a dataset, oldest first."""
        ...


@runtime_checkable
class PipelineStore(Protocol):
    """Pipeline runs with their step runs, and the schedules that start them."""

    def create_pipeline_run(self, run: PipelineRun, steps: Sequence[StepRun]) -> PipelineRun:
        """Record a new pipeline run and its (pending) steps in one transaction."""
        ...

    def save_pipeline_run(self, run: PipelineRun) -> PipelineRun:
        """Overwrite the record of an existing pipeline run; NotFound if absent."""
        ...

    def get_pipeline_run(self, run_id: str) -> PipelineRun:
        """Return one pipeline run; NotFound if absent."""
        ...

    def list_pipeline_runs(
        self,
        *,
        pipeline: str | None = None,
        status: PipelineStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[PipelineRun]:
        """Return pipeline runs, newest first."""
        ...

    def list_step_runs(self, pipeline_run_id: str) -> list[StepRun]:
        """Return the steps of a pipeline run in definition order."""
        ...

    def save_step_run(self, step: StepRun, *, edges: Sequence[LineageEdge] = ()) -> StepRun:
        """Overwrite a step run's record and add lineage ``edges``, in one transaction."""
        ...

    def find_cached_step(self, cache_key: str) -> StepRun | None:
        """Return the newest step run that ran to completion with ``cache_key``."""
        ...

    def create_schedule(self, schedule: Schedule) -> Schedule:
        """Record a schedule; Conflict if the name is taken."""
        ...

    def list_schedules(self) -> list[Schedule]:
        """Return every schedule, soonest due first."""
        ...

    def get_schedule(self, name: str) -> Schedule:
        """Return a schedule by name; NotFound if absent."""
        ...

    def delete_schedule(self, name: str) -> None:
        """Remove a schedule by name; NotFound if absent."""
        ...

    def update_schedule(
        self,
        name: str,
        *,
        cron: str | None = None,
        params: Mapping[str, object] | None = None,
        enabled: bool | None = None,
        next_run_at_ms: int | None = None,
    ) -> Schedule:
        """Change a schedule's cron, params, enabled state or next due time (None: keep
        as it is) and return it; NotFound if absent."""
        ...

    def claim_schedule(
        self, schedule_id: str, *, due_at_ms: int, next_run_at_ms: int, run_id: str
    ) -> bool:
        """Atomically move a due schedule to its next time; True for the one winner."""
        ...


@runtime_checkable
class ModelStore(Protocol):
    """Registered models, versions, aliases with their history, and the change log.

    Every write records a model event (who, when, why) in the same transaction.
    """

    def create_model(
        self,
        name: str,
        *,
        actor: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        """Create a registered model; Conflict if the name is taken."""
        ...

    def get_model(self, name: str) -> RegisteredModel:
        """Return the model; NotFound if absent."""
        ...

    def list_models(self, *, limit: int = 100, offset: int = 0) -> list[RegisteredModel]:
        """Return models by name."""
        ...

    def update_model(
        self,
        name: str,
        *,
        actor: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        """Change the description and/or set tags."""
        ...

    def create_model_version(
        self,
        name: str,
        *,
        actor: str,
        semver: str,
        manifest_digest: str,
        payload_digest: str,
        flavor: str,
        model_class: str,
        signature_digest: str | None = None,
        run_id: str | None = None,
        source: str = "",
        description: str = "",
        gates_digest: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Add the next numbered version; Conflict if ``semver`` is already used."""
        ...

    def get_model_version(self, name: str, number: int) -> ModelVersion:
        """Return version ``number``; NotFound if absent."""
        ...

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """Every version of a model, newest first."""
        ...

    def update_model_version(
        self,
        name: str,
        number: int,
        *,
        actor: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Change a version's description and/or set tags."""
        ...

    def set_alias(
        self,
        name: str,
        alias: str,
        number: int | None,
        *,
        actor: str,
        reason: str = "",
        request_id: str | None = None,
    ) -> AliasMove:
        """Point ``alias`` at version ``number`` (None removes it), atomically, with history.

        With ``request_id`` the APPROVED request is marked PROMOTED in the same transaction.
        """
        ...

    def get_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at; NotFound if unset."""
        ...

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of an alias (or of all aliases), oldest first."""
        ...

    def list_model_events(self, name: str) -> list[ModelEvent]:
        """The change log of a model, oldest first."""
        ...


@runtime_checkable
class LeaseStore(Protocol):
    """Named, expiring locks shared by processes (agents, pipeline runners)."""

    def acquire_lease(self, name: str, owner: str, ttl_s: float) -> bool:
        """Take or extend a lease if free, expired or already ours; True if we hold it."""
        ...

    def release_lease(self, name: str, owner: str) -> None:
        """Give a lease back (no-op if ``owner`` does not hold it)."""
        ...

    def get_lease(self, name: str) -> Lease | None:
        """Return the lease, expired or not, or None."""
        ...


@runtime_checkable
class ApprovalStore(Protocol):
    """Promotion policies, promotion requests and reviewers' decisions."""

    def set_promotion_policy(self, name: str, policy: PromotionPolicy, *, actor: str) -> None:
        """Set (or replace) the policy guarding ``policy.alias`` of a model."""
        ...

    def get_promotion_policies(self, name: str) -> list[PromotionPolicy]:
        """Every policy of a model, by alias."""
        ...

    def create_promotion_request(
        self, name: str, number: int, alias: str, *, actor: str, comment: str = ""
    ) -> PromotionRequest:
        """Open a PENDING request to move ``alias`` to version ``number``."""
        ...

    def get_promotion_request(self, request_id: str) -> PromotionRequest:
        """Return a request with its decisions; NotFound if absent."""
        ...

    def list_promotion_requests(
        self, name: str, *, status: RequestStatus | None = None
    ) -> list[PromotionRequest]:
        """Requests of a model, newest first."""
        ...

    def add_decision(
        self,
        request_id: str,
        *,
        actor: str,
        role: str,
        approve: bool,
        comment: str,
        status: RequestStatus,
    ) -> PromotionRequest:
        """Record a verdict and move the open request to ``status``.

        Conflict when the request is closed or ``actor`` decided it already.
        """
        ...


@runtime_checkable
class EvaluationStore(Protocol):
    """Evaluations of models, linked to model versions when there is one."""

    def add_evaluation(
        self,
        *,
        actor: str,
        model_uri: str,
        model_name: str | None = None,
        version: int | None = None,
        data_fingerprint: str = "",
        passed: bool | None = None,
        report_digest: str | None = None,
        gates_digest: str | None = None,
        summary: Mapping[str, float] | None = None,
    ) -> Evaluation:
        """Record an evaluation."""
        ...

    def get_evaluation(self, evaluation_id: str) -> Evaluation:
        """Return an evaluation; NotFound if absent."""
        ...

    def list_evaluations(
        self, name: str, number: int | None = None, *, limit: int = 100
    ) -> list[Evaluation]:
        """Evaluations of a model (or one version), newest first."""
        ...


@runtime_checkable
class ReferenceStore(Protocol):
    """What the records refer to in the artifact store, for garbage collection."""

    def artifact_references(self) -> ArtifactReferences:
        """Every artifact digest a record names, read in one consistent snapshot.

        Manifests (of dataset and model versions) are listed apart: the objects they
        name are in the artifact store, so the caller reads them to follow the references.
        """
        ...


@runtime_checkable
class Store(
    RunStore,
    LineageStore,
    DatasetStore,
    ModelStore,
    ApprovalStore,
    EvaluationStore,
    PipelineStore,
    LeaseStore,
    ReferenceStore,
    FeatureStore,
    GovernanceStore,
    PredictionStore,
    DeploymentStore,
    AlertStore,
    MonitorStore,
    TriggerStore,
    Protocol,
):
    """Everything the capabilities need from the metadata store."""

    def close(self) -> None:
        """Release connections."""
        ...
