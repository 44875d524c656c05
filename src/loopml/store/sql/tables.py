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

__all__ = [
    "ID",
    "leases",
    "lineage_edges",
    "metadata",
    "metrics",
    "params",
    "pipeline_runs",
    "runs",
    "schedules",
    "step_runs",
    "tags",
]
