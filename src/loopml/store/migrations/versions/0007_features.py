"""Feature store: versioned definitions and materialisation watermarks.

Revision ID: 0007_features
Revises: 0005_registry
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_features"
down_revision = "0006_serving"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feature_definitions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("spec_json", sa.Text, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.UniqueConstraint("kind", "name", "version", name="uq_feature_definitions_version"),
    )
    op.create_table(
        "feature_watermarks",
        sa.Column("view", sa.String(255), primary_key=True),
        sa.Column("target", sa.String(512), primary_key=True),
        sa.Column("watermark_ms", sa.BigInteger),
        sa.Column("end_ms", sa.BigInteger, nullable=False),
        sa.Column("materialized_at_ms", sa.BigInteger, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feature_watermarks")
    op.drop_table("feature_definitions")
