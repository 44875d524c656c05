"""SQLAlchemy Core tables of the metadata store.

These mirror the Alembic migrations (the migrations are the source of truth for the
database; a test checks both agree). Times are BIGINT milliseconds since the epoch.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

ID = String(32)

runs = Table(
    "runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("parent_id", ID, ForeignKey("runs.id", ondelete="SET NULL"), nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("ended_at_ms", BigInteger, nullable=True),
    Column("error", Text, nullable=True),
    # tracking (0002_tracking): liveness, free text, soft delete
    Column("heartbeat_ms", BigInteger, nullable=True),
    Column("notes", Text, nullable=True),
    Column("deleted_at_ms", BigInteger, nullable=True),
    Index("ix_runs_created", "created_at_ms"),
    Index("ix_runs_status", "status"),
    Index("ix_runs_parent", "parent_id"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
)

# value NULL encodes NaN: SQLite turns NaN into NULL, so the store does it on purpose on
# every back-end and maps it back on read.
metrics = Table(
    "metrics",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("value", Float(precision=53), nullable=True),
    Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

lineage_edges = Table(
    "lineage_edges",
    metadata,
    Column("src_kind", String(40), primary_key=True),
    Column("src_id", String(200), primary_key=True),
    Column("dst_kind", String(40), primary_key=True),
    Column("dst_id", String(200), primary_key=True),
    Column("relation", String(64), primary_key=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Index("ix_lineage_dst", "dst_kind", "dst_id"),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("pii_policy", String(16), nullable=False),
    Column("description", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("project", String(128), nullable=False, server_default="default"),  # 0016_projects
)

# parents and meta are JSON text; seq numbers the versions of one dataset (NAME@v3).
dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("dataset_id", ID, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("parents", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("author", String(255), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("manifest_digest", String(64), nullable=False),
    Column("file_count", BigInteger, nullable=False),
    Column("total_bytes", BigInteger, nullable=False),
    Column("meta", Text, nullable=False),
    UniqueConstraint("dataset_id", "seq", name="uq_dataset_versions_seq"),
    Index("ix_dataset_versions_created", "dataset_id", "created_at_ms"),
)

dataset_refs = Table(
    "dataset_refs",
    metadata,
    Column("dataset_id", ID, ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("version_id", ID, ForeignKey("dataset_versions.id"), nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
)

dataset_schemas = Table(
    "dataset_schemas",
    metadata,
    Column("dataset_id", ID, ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("version_id", ID, nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
)

# -- registry (models, versions, aliases, approvals, evaluations) -------------------------
# Tags, details and policies are small JSON documents in TEXT columns: they are read whole
# and never filtered on in SQL.

models = Table(
    "models",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("tags_json", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    Column("created_by", String(255), nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("model_id", ID, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("number", BigInteger, nullable=False),
    Column("semver", String(64), nullable=False),
    Column("manifest_digest", String(64), nullable=False),
    Column("payload_digest", String(64), nullable=False),
    Column("flavor", String(64), nullable=False),
    Column("model_class", String(255), nullable=False),
    Column("signature_digest", String(64), nullable=True),
    Column("run_id", ID, ForeignKey("runs.id", ondelete="SET NULL"), nullable=True),
    Column("source", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("gates_digest", String(64), nullable=True),
    Column("tags_json", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("created_by", String(255), nullable=False),
    UniqueConstraint("model_id", "number", name="uq_model_versions_number"),
    UniqueConstraint("model_id", "semver", name="uq_model_versions_semver"),
    Index("ix_model_versions_run", "run_id"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("model_id", ID, ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version_id", ID, ForeignKey("model_versions.id", ondelete="CASCADE"), nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
)

alias_history = Table(
    "alias_history",
    metadata,
    # INTEGER on SQLite: only an INTEGER PRIMARY KEY autoincrements there.
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("model_id", ID, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("alias", String(64), nullable=False),
    Column("from_number", BigInteger, nullable=True),
    Column("to_number", BigInteger, nullable=True),
    Column("actor", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index("ix_alias_history_model_alias", "model_id", "alias", "seq"),
)

model_events = Table(
    "model_events",
    metadata,
    Column("id", ID, primary_key=True),
    Column("model_id", ID, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("version_number", BigInteger, nullable=True),
    Column("action", String(64), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail_json", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index("ix_model_events_model", "model_id", "id"),
)

promotion_policies = Table(
    "promotion_policies",
    metadata,
    Column("model_id", ID, ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("policy_json", Text, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    Column("updated_by", String(255), nullable=False),
)

promotion_requests = Table(
    "promotion_requests",
    metadata,
    Column("id", ID, primary_key=True),
    Column("model_id", ID, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("version_id", ID, ForeignKey("model_versions.id", ondelete="CASCADE"), nullable=False),
    Column("alias", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_by", String(255), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("decided_at_ms", BigInteger, nullable=True),
    Index("ix_promotion_requests_model", "model_id", "status"),
)

promotion_decisions = Table(
    "promotion_decisions",
    metadata,
    Column(
        "request_id", ID, ForeignKey("promotion_requests.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("actor", String(255), primary_key=True),
    Column("role", String(64), nullable=False),
    Column("approve", Integer, nullable=False),
    Column("comment", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)

evaluations = Table(
    "evaluations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("model_uri", Text, nullable=False),
    Column("model_id", ID, ForeignKey("models.id", ondelete="CASCADE"), nullable=True),
    Column("version_number", BigInteger, nullable=True),
    Column("data_fingerprint", String(64), nullable=False),
    Column("passed", Integer, nullable=True),
    Column("report_digest", String(64), nullable=True),
    Column("gates_digest", String(64), nullable=True),
    Column("summary_json", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("created_by", String(255), nullable=False),
    Index("ix_evaluations_model_version", "model_id", "version_number", "created_at_ms"),
)

# The newest point of each metric of each run (by step, then time), kept by the writer in
# the same transaction as the points: filters and sorts on metrics read this, not history.
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("step", BigInteger, nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("value", Float(precision=53), nullable=True),
    Index("ix_latest_metrics_key_value", "key", "value"),
)

# Files a run recorded: path inside the run -> content-addressed blob.
run_artifacts = Table(
    "run_artifacts",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Index("ix_run_artifacts_digest", "digest"),
)

# Pipelines (revision 0004_pipelines). JSON values are stored as text: the same on both
# back-ends, and never queried inside.
pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("pipeline", String(255), nullable=False),
    Column("target", String(500), nullable=True),
    Column("status", String(16), nullable=False),
    Column("executor", String(64), nullable=False),
    Column("cache", Boolean, nullable=False),
    Column("params_json", Text, nullable=False),
    Column("graph_json", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("ended_at_ms", BigInteger, nullable=True),
    Column("resumes", Integer, nullable=False),
    Column("schedule_id", ID, nullable=True),
    Column("cost", Float(precision=53), nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_pipeline_runs_created", "created_at_ms"),
    Index("ix_pipeline_runs_pipeline", "pipeline"),
)

step_runs = Table(
    "step_runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "pipeline_run_id",
        ID,
        ForeignKey("pipeline_runs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(255), nullable=False),
    Column("position", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("upstream_json", Text, nullable=False),
    Column("cache_key", String(64), nullable=True),
    Column("cache_hit", Boolean, nullable=False),
    Column("cached_from", ID, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("started_at_ms", BigInteger, nullable=True),
    Column("ended_at_ms", BigInteger, nullable=True),
    Column("wall_s", Float(precision=53), nullable=True),
    Column("cpu_s", Float(precision=53), nullable=True),
    Column("gpu_s", Float(precision=53), nullable=True),
    Column("peak_memory_bytes", BigInteger, nullable=True),
    Column("cost", Float(precision=53), nullable=True),
    Column("inputs_json", Text, nullable=False),
    Column("outputs_json", Text, nullable=False),
    Column("params_json", Text, nullable=False),
    Column("worker", String(255), nullable=True),
    # A tracking run the step made, linked once tracking records one (nullable on purpose).
    Column("run_id", ID, nullable=True),
    Column("error", Text, nullable=True),
    # The captured output of the latest attempt, in the artifact store (0015_step_logs).
    Column("log_digest", String(64), nullable=True),
    Index("ix_step_runs_pipeline_run", "pipeline_run_id", "position"),
    Index("ix_step_runs_cache_key", "cache_key", "status"),
)

schedules = Table(
    "schedules",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("target", String(500), nullable=False),
    Column("cron", String(255), nullable=False),
    Column("params_json", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("next_run_at_ms", BigInteger, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("last_run_id", ID, nullable=True),
    Index("ix_schedules_next", "next_run_at_ms"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("owner", String(255), nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
    Column("acquired_at_ms", BigInteger, nullable=False),
)

# -- governance (0008_governance) -----------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("display_name", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("created_by", String(255), nullable=False),
)

# The secret is never stored: secret_hash is the SHA-256 of the whole token string.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("user_name", String(255), ForeignKey("users.name"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("expires_at_ms", BigInteger, nullable=True),
    Column("revoked_at_ms", BigInteger, nullable=True),
    Index("ix_api_tokens_user", "user_name"),
)

role_bindings = Table(
    "role_bindings",
    metadata,
    Column("user_name", String(255), ForeignKey("users.name"), primary_key=True),
    Column("role", String(64), primary_key=True),
    Column("project", String(255), primary_key=True),
    Column("granted_at_ms", BigInteger, nullable=False),
    Column("granted_by", String(255), nullable=False),
)

role_permissions = Table(
    "role_permissions",
    metadata,
    Column("project", String(255), primary_key=True),
    Column("role", String(64), primary_key=True),
    Column("permission", String(64), primary_key=True),
    Column("allowed", Boolean, nullable=False),
)

# Append-only: leaf_index is the position in the Merkle tree (unique, so two writers can
# never take the same one); prev_root chains each leaf to the tree head before it.
audit_events = Table(
    "audit_events",
    metadata,
    Column("leaf_index", BigInteger, primary_key=True, autoincrement=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object_kind", String(40), nullable=False),
    Column("object_id", String(255), nullable=False),
    Column("source", String(255), nullable=False),
    Column("before_digest", String(64), nullable=True),
    Column("after_digest", String(64), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("detail_json", Text, nullable=False),
    Column("prev_root", String(64), nullable=False),
    Column("leaf_hash", String(64), nullable=False),
    Index("ix_audit_events_object", "object_kind", "object_id"),
    Index("ix_audit_events_actor", "actor"),
)

# One row (id 1): the log's size and frontier (hex subtree roots); its row lock
# serialises appenders on PostgreSQL.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("frontier_json", Text, nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", String(64), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
)

# serving (0006_serving): the prediction log's sealed segments, its id index, feedback
prediction_segments = Table(
    "prediction_segments",
    metadata,
    Column("id", ID, primary_key=True),
    Column("model", String(255), nullable=False),
    Column("version", BigInteger, nullable=True),
    Column("deployment", String(255), nullable=True),
    Column("digest", String(64), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("predictions", BigInteger, nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Index("ix_prediction_segments_model_time", "model", "version", "start_ms"),
    Index("ix_prediction_segments_deployment_time", "deployment", "start_ms"),
    Index("ix_prediction_segments_end", "end_ms"),
)

prediction_index = Table(
    "prediction_index",
    metadata,
    Column("prediction_id", String(128), primary_key=True),
    Column(
        "segment_id",
        ID,
        ForeignKey("prediction_segments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index("ix_prediction_index_segment", "segment_id"),
)

prediction_feedback = Table(
    "prediction_feedback",
    metadata,
    Column("prediction_id", String(128), primary_key=True),
    # -1: a label of the whole prediction (every row without a label of its own)
    Column("row", BigInteger, primary_key=True),
    Column("label_json", Text, nullable=False),
    Column("updates", BigInteger, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    Column("actor", String(255), nullable=False),
    Index("ix_prediction_feedback_updated", "updated_at_ms"),
)

__all__ = [
    "ID",
    "alerts",
    "alias_history",
    "api_tokens",
    "audit_checkpoints",
    "audit_events",
    "audit_head",
    "dataset_refs",
    "dataset_schemas",
    "dataset_versions",
    "datasets",
    "deployment_events",
    "deployments",
    "evaluations",
    "latest_metrics",
    "leases",
    "lineage_edges",
    "metadata",
    "metrics",
    "model_aliases",
    "model_events",
    "model_versions",
    "models",
    "monitor_sketches",
    "monitor_windows",
    "params",
    "pipeline_runs",
    "prediction_feedback",
    "prediction_index",
    "prediction_segments",
    "promotion_decisions",
    "promotion_policies",
    "promotion_requests",
    "role_bindings",
    "role_permissions",
    "run_artifacts",
    "runs",
    "schedules",
    "step_runs",
    "tags",
    "trigger_events",
    "triggers",
    "users",
]

# features (0007_features): every applied definition version, and materialisation progress
feature_definitions = Table(
    "feature_definitions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("name", String(255), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("spec_json", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("created_by", String(255), nullable=False),
    UniqueConstraint("kind", "name", "version", name="uq_feature_definitions_version"),
)

feature_watermarks = Table(
    "feature_watermarks",
    metadata,
    Column("view", String(255), primary_key=True),
    Column("target", String(512), primary_key=True),
    Column("watermark_ms", BigInteger, nullable=True),
    Column("end_ms", BigInteger, nullable=False),
    Column("materialized_at_ms", BigInteger, nullable=False),
    Column("rows", BigInteger, nullable=False),
)

# deployments (0009_deploy): endpoint -> model versions, with a revision counter, and events
deployments = Table(
    "deployments",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("strategy", String(16), nullable=False),
    Column("arms_json", Text, nullable=False),
    Column("alias", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("steps_json", Text, nullable=False),
    Column("analysis_json", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("feature_service", String(255), nullable=False, server_default=""),  # 0014_router
    Column("created_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("revision", BigInteger, nullable=False),
)

deployment_events = Table(
    "deployment_events",
    metadata,
    Column("id", ID, primary_key=True),
    Column("deployment", String(255), ForeignKey("deployments.name"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("from_json", Text, nullable=False),
    Column("to_json", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("revision", BigInteger, nullable=False),
    Column("detail_json", Text, nullable=False),
    UniqueConstraint("deployment", "seq", name="uq_deployment_events_seq"),
)

# alerts (0011_alerts): monitoring alerts, firing then resolved
alerts = Table(
    "alerts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("rule", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("value", Float(precision=53), nullable=True),
    Column("bound", Float(precision=53), nullable=True),
    Column("window_id", Text, nullable=True),
    Column("deployment", String(255), nullable=False),
    Column("model", String(255), nullable=False),
    Column("version", BigInteger, nullable=True),
    Column("fired_at", BigInteger, nullable=False),
    Column("resolved_at", BigInteger, nullable=True),
    Column("message", Text, nullable=False),
    Column("created_by", String(255), nullable=False),
    Index("ix_alerts_state_fired", "state", "fired_at"),
    Index("ix_alerts_deployment_fired", "deployment", "fired_at"),
)

# server (0013_server): write requests the server answered, by Idempotency-Key
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("actor", String(255), primary_key=True),
    Column("operation", String(64), nullable=False),
    Column("status", Integer, nullable=True),
    Column("body", Text, nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Index("ix_idempotency_keys_created", "created_at_ms"),
)

# monitoring (0010_monitor): computed windows, and the per-segment sketches they merge
monitor_windows = Table(
    "monitor_windows",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("scope", String(512), nullable=False),
    Column("plan", String(64), nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("complete", Integer, nullable=False),
    Column("drifted", Integer, nullable=False),
    Column("drift_json", Text, nullable=False),
    Column("realised_json", Text, nullable=False),
    Column("estimated_json", Text, nullable=False),
    Column("labelled", BigInteger, nullable=False),
    Column("model", String(255), nullable=True),
    Column("version", BigInteger, nullable=True),
    Column("deployment", String(255), nullable=True),
    Column("report_digest", String(80), nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    UniqueConstraint("scope", "plan", "start_ms", name="uq_monitor_windows_slot"),
)

monitor_sketches = Table(
    "monitor_sketches",
    metadata,
    Column("segment_id", String(64), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("body", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
)

# triggers (0012_triggers): the closed loop's rules, and what each firing and step did
triggers = Table(
    "triggers",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("model", String(255), nullable=False),
    Column("condition_json", Text, nullable=False),
    Column("action_json", Text, nullable=False),
    Column("debounce_s", Float, nullable=False),
    Column("cooldown_s", Float, nullable=False),
    Column("budget_per_day", BigInteger, nullable=True),
    Column("dry_run", Boolean, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("state_json", Text, nullable=False),
    Column("last_fired_at_ms", BigInteger, nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("revision", BigInteger, nullable=False),
    Column("source", Text, nullable=False),
)

trigger_events = Table(
    "trigger_events",
    metadata,
    Column("id", ID, primary_key=True),
    Column("trigger", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("chain_id", String(32), nullable=True),
    Column("step", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("detail_json", Text, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index("ix_trigger_events_trigger_at", "trigger", "at_ms"),
    Index("ix_trigger_events_chain", "chain_id"),
)
