"""Governance: users, API tokens, role bindings and overrides, the Merkle audit log.

Revision ID: 0008_governance
Revises: 0005_registry
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_governance"
down_revision = "0007_features"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("user_name", sa.String(255), sa.ForeignKey("users.name"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger, nullable=True),
        sa.Column("revoked_at_ms", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_api_tokens_user", "api_tokens", ["user_name"])
    op.create_table(
        "role_bindings",
        sa.Column("user_name", sa.String(255), sa.ForeignKey("users.name"), primary_key=True),
        sa.Column("role", sa.String(64), primary_key=True),
        sa.Column("project", sa.String(255), primary_key=True),
        sa.Column("granted_at_ms", sa.BigInteger, nullable=False),
        sa.Column("granted_by", sa.String(255), nullable=False),
    )
    op.create_table(
        "role_permissions",
        sa.Column("project", sa.String(255), primary_key=True),
        sa.Column("role", sa.String(64), primary_key=True),
        sa.Column("permission", sa.String(64), primary_key=True),
        sa.Column("allowed", sa.Boolean, nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("leaf_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_kind", sa.String(40), nullable=False),
        sa.Column("object_id", sa.String(255), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("before_digest", sa.String(64), nullable=True),
        sa.Column("after_digest", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail_json", sa.Text, nullable=False),
        sa.Column("prev_root", sa.String(64), nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_events_object", "audit_events", ["object_kind", "object_id"])
    op.create_index("ix_audit_events_actor", "audit_events", ["actor"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("frontier_json", sa.Text, nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_actor", table_name="audit_events")
    op.drop_index("ix_audit_events_object", table_name="audit_events")
    op.drop_index("ix_api_tokens_user", table_name="api_tokens")
    for table in (
        "audit_checkpoints",
        "audit_head",
        "audit_events",
        "role_permissions",
        "role_bindings",
        "api_tokens",
        "users",
    ):
        op.drop_table(table)
