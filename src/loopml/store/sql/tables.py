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

__all__ = [
    "ID",
    "dataset_refs",
    "dataset_schemas",
    "dataset_versions",
    "datasets",
    "lineage_edges",
    "metadata",
    "metrics",
    "params",
    "runs",
    "tags",
]
