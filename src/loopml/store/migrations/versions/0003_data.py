"""Datasets: datasets, versions (commits), refs (branches and tags), saved schemas.

Revision ID: 0003_data
Revises: 0002_tracking
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_data"
down_revision = "0002_tracking"
branch_labels = None
depends_on = None

ID = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("pii_policy", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "dataset_id", ID, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("parents", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("manifest_digest", sa.String(64), nullable=False),
        sa.Column("file_count", sa.BigInteger, nullable=False),
        sa.Column("total_bytes", sa.BigInteger, nullable=False),
        sa.Column("meta", sa.Text, nullable=False),
        sa.UniqueConstraint("dataset_id", "seq", name="uq_dataset_versions_seq"),
    )
    op.create_index(
        "ix_dataset_versions_created", "dataset_versions", ["dataset_id", "created_at_ms"]
    )
    op.create_table(
        "dataset_refs",
        sa.Column(
            "dataset_id", ID, sa.ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version_id", ID, sa.ForeignKey("dataset_versions.id"), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "dataset_schemas",
        sa.Column(
            "dataset_id", ID, sa.ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("version_id", ID),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for name in ("dataset_schemas", "dataset_refs", "dataset_versions", "datasets"):
        op.drop_table(name)
