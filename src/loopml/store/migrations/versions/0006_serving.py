"""Serving: the prediction log's segment index, its prediction-id index, and feedback.

Revision ID: 0006_serving
Revises: 0005_registry
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_serving"
down_revision = "0005_registry"
branch_labels = None
depends_on = None

ID = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "prediction_segments",
        sa.Column("id", ID, primary_key=True),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("version", sa.BigInteger),
        sa.Column("deployment", sa.String(255)),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("predictions", sa.BigInteger, nullable=False),
        sa.Column("start_ms", sa.BigInteger, nullable=False),
        sa.Column("end_ms", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_prediction_segments_model_time",
        "prediction_segments",
        ["model", "version", "start_ms"],
    )
    op.create_index(
        "ix_prediction_segments_deployment_time", "prediction_segments", ["deployment", "start_ms"]
    )
    op.create_index("ix_prediction_segments_end", "prediction_segments", ["end_ms"])
    op.create_table(
        "prediction_index",
        sa.Column("prediction_id", sa.String(128), primary_key=True),
        sa.Column(
            "segment_id",
            ID,
            sa.ForeignKey("prediction_segments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_prediction_index_segment", "prediction_index", ["segment_id"])
    op.create_table(
        "prediction_feedback",
        sa.Column("prediction_id", sa.String(128), primary_key=True),
        sa.Column("row", sa.BigInteger, primary_key=True),
        sa.Column("label_json", sa.Text, nullable=False),
        sa.Column("updates", sa.BigInteger, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
    )
    op.create_index("ix_prediction_feedback_updated", "prediction_feedback", ["updated_at_ms"])


def downgrade() -> None:
    op.drop_index("ix_prediction_feedback_updated", table_name="prediction_feedback")
    op.drop_table("prediction_feedback")
    op.drop_index("ix_prediction_index_segment", table_name="prediction_index")
    op.drop_table("prediction_index")
    for index in (
        "ix_prediction_segments_end",
        "ix_prediction_segments_deployment_time",
        "ix_prediction_segments_model_time",
    ):
        op.drop_index(index, table_name="prediction_segments")
    op.drop_table("prediction_segments")
