"""The Assets API's records: assets, their derivatives and AI results, skill executions with
their steps, and storage provider profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from worldsmith.core.models.base import Base, UTCDateTime, created_column, updated_column

# Asset ids are dashed UUIDv7 strings (36 characters), as the Assets API shows them.
ASSET_ID = String(36)


class StorageProfile(Base):
    """Where an account's asset files go: `local`, `s3` or `git-repo`, with its settings."""

    __tablename__ = "storage_profiles"

    id: Mapped[str] = mapped_column(ASSET_ID, primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)  # local | s3 | git-repo
    config: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = (
        Index("ix_assets_owner_created", "owner_id", "created_at", "id"),
        Index("ix_assets_owner_size", "owner_id", "size_bytes", "id"),
        Index("ix_assets_owner_status", "owner_id", "status"),
        Index("ix_assets_owner_type", "owner_id", "content_type"),
        Index("ix_assets_owner_phash", "owner_id", "perceptual_hash"),
    )

    id: Mapped[str] = mapped_column(ASSET_ID, primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False, default="image")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    original_file_name: Mapped[str] = mapped_column(String(500), nullable=False)
    stored_file_name: Mapped[str] = mapped_column(String(500), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(String(1000))
    alt_text: Mapped[str | None] = mapped_column(String(1000))
    is_public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    storage_provider: Mapped[str] = mapped_column(String(32), nullable=False)
    storage_profile_id: Mapped[str | None] = mapped_column(ASSET_ID)
    storage_key: Mapped[str] = mapped_column(String(500), nullable=False)
    perceptual_hash: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class AssetDerivative(Base):
    """A derived file (thumbnail, converted format, watermarked copy): one per kind."""

    __tablename__ = "asset_derivatives"
    __table_args__ = (UniqueConstraint("asset_id", "kind", name="uq_asset_derivatives_kind"),)

    id: Mapped[str] = mapped_column(ASSET_ID, primary_key=True)
    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), index=True, nullable=False
    )
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    extension: Mapped[str] = mapped_column(String(16), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(500), nullable=False)
    created_at: Mapped[datetime] = created_column()


class AssetAiResult(Base):
    """A structured result of analysis (caption, alt text, colours, hash…): latest per kind."""

    __tablename__ = "asset_ai_results"
    __table_args__ = (UniqueConstraint("asset_id", "kind", name="uq_asset_ai_results_kind"),)

    id: Mapped[str] = mapped_column(ASSET_ID, primary_key=True)
    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), index=True, nullable=False
    )
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    payload_json: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_column()


class SkillExecution(Base):
    __tablename__ = "skill_executions"
    __table_args__ = (Index("ix_skill_executions_asset_started", "asset_id", "started_at"),)

    id: Mapped[str] = mapped_column(ASSET_ID, primary_key=True)
    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), nullable=False
    )
    owner_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True, nullable=False)
    skill_name: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    trigger: Mapped[str] = mapped_column(String(32), nullable=False)  # upload | api
    job_id: Mapped[str | None] = mapped_column(String(32), index=True)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    succeeded: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = created_column()


class SkillStepResult(Base):
    __tablename__ = "skill_step_results"

    id: Mapped[str] = mapped_column(ASSET_ID, primary_key=True)
    execution_id: Mapped[str] = mapped_column(
        ForeignKey("skill_executions.id", ondelete="CASCADE"), index=True, nullable=False
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    step_name: Mapped[str] = mapped_column(String(64), nullable=False)
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False)
    error_message: Mapped[str | None] = mapped_column(String(2000))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class AssetCount(Base):
    """How many assets (and bytes) an account has per status and content type. Written only by
    database triggers on `assets` (migration 0005), read by listing and usage stats."""

    __tablename__ = "asset_counts"

    owner_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(100), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False)
    total_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
