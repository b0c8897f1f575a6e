"""assets

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 03:37:47.972361
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("original_file_name", sa.String(length=500), nullable=False),
        sa.Column("stored_file_name", sa.String(length=500), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("alt_text", sa.String(length=1000), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("storage_provider", sa.String(length=32), nullable=False),
        sa.Column("storage_profile_id", sa.String(length=36), nullable=True),
        sa.Column("storage_key", sa.String(length=500), nullable=False),
        sa.Column("perceptual_hash", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["accounts.id"], name=op.f("fk_assets_owner_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
    )
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assets_owner_created", ["owner_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_assets_owner_phash", ["owner_id", "perceptual_hash"], unique=False
        )
        batch_op.create_index(
            "ix_assets_owner_size", ["owner_id", "size_bytes", "id"], unique=False
        )
        batch_op.create_index("ix_assets_owner_status", ["owner_id", "status"], unique=False)
        batch_op.create_index("ix_assets_owner_type", ["owner_id", "content_type"], unique=False)

    op.create_table(
        "storage_profiles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["accounts.id"], name=op.f("fk_storage_profiles_owner_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_profiles")),
    )
    with op.batch_alter_table("storage_profiles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_storage_profiles_owner_id"), ["owner_id"], unique=False
        )

    op.create_table(
        "asset_ai_results",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("asset_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_asset_ai_results_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_ai_results")),
        sa.UniqueConstraint("asset_id", "kind", name="uq_asset_ai_results_kind"),
    )
    with op.batch_alter_table("asset_ai_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_asset_ai_results_asset_id"), ["asset_id"], unique=False
        )

    op.create_table(
        "asset_derivatives",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("asset_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("extension", sa.String(length=16), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("storage_key", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_asset_derivatives_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_derivatives")),
        sa.UniqueConstraint("asset_id", "kind", name="uq_asset_derivatives_kind"),
    )
    with op.batch_alter_table("asset_derivatives", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_asset_derivatives_asset_id"), ["asset_id"], unique=False
        )

    op.create_table(
        "skill_executions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("asset_id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("skill_name", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("succeeded", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_skill_executions_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["accounts.id"], name=op.f("fk_skill_executions_owner_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skill_executions")),
    )
    with op.batch_alter_table("skill_executions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_skill_executions_asset_started", ["asset_id", "started_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_skill_executions_job_id"), ["job_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_skill_executions_owner_id"), ["owner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_skill_executions_skill_name"), ["skill_name"], unique=False
        )

    op.create_table(
        "skill_step_results",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("execution_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("step_name", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("error_message", sa.String(length=2000), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["skill_executions.id"],
            name=op.f("fk_skill_step_results_execution_id_skill_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skill_step_results")),
    )
    with op.batch_alter_table("skill_step_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_skill_step_results_execution_id"), ["execution_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("skill_step_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skill_step_results_execution_id"))

    op.drop_table("skill_step_results")
    with op.batch_alter_table("skill_executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skill_executions_skill_name"))
        batch_op.drop_index(batch_op.f("ix_skill_executions_owner_id"))
        batch_op.drop_index(batch_op.f("ix_skill_executions_job_id"))
        batch_op.drop_index("ix_skill_executions_asset_started")

    op.drop_table("skill_executions")
    with op.batch_alter_table("asset_derivatives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_derivatives_asset_id"))

    op.drop_table("asset_derivatives")
    with op.batch_alter_table("asset_ai_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_ai_results_asset_id"))

    op.drop_table("asset_ai_results")
    with op.batch_alter_table("storage_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storage_profiles_owner_id"))

    op.drop_table("storage_profiles")
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_index("ix_assets_owner_type")
        batch_op.drop_index("ix_assets_owner_status")
        batch_op.drop_index("ix_assets_owner_size")
        batch_op.drop_index("ix_assets_owner_phash")
        batch_op.drop_index("ix_assets_owner_created")

    op.drop_table("assets")
