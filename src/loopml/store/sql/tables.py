"""SQLAlchemy Core tables of the metadata store.

These mirror the Alembic migrations (the migrations are the source of truth for the
database; a test checks both agree). Times are BIGINT milliseconds since the epoch.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
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

__all__ = [
    "ID",
    "latest_metrics",
    "lineage_edges",
    "metadata",
    "metrics",
    "params",
    "run_artifacts",
    "runs",
    "tags",
]
