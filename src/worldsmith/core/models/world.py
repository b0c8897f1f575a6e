"""Worlds and the media assets users upload to make them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from worldsmith.core.models.base import Base, created_column, id_column, updated_column


class World(Base):
    __tablename__ = "worlds"
    __table_args__ = (
        Index("ix_worlds_owner_created", "owner_id", "created_at", "id"),
        Index("ix_worlds_owner_updated", "owner_id", "updated_at", "id"),
    )

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), nullable=False)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(500), nullable=False)
    model: Mapped[str] = mapped_column(String(64), nullable=False)
    seed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    is_public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    allowed_readers: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    allowed_writers: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    # The prompt in the response shape (media inline as Content), fixed at submission.
    world_prompt: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # Object-store keys of the outputs, and the caption; set once, when the job succeeds.
    asset_keys: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    caption: Mapped[str | None] = mapped_column(String(4000))
    # Facts about the splats (scale to metres, ground offset, coordinate convention).
    asset_metadata: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class WorldTag(Base):
    """Tags as rows, so "any of these tags" is an indexed, portable query."""

    __tablename__ = "world_tags"

    world_id: Mapped[str] = mapped_column(ForeignKey("worlds.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class MediaAsset(Base):
    __tablename__ = "media_assets"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True, nullable=False)
    file_name: Mapped[str] = mapped_column(String(500), nullable=False)
    extension: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # image | video
    user_metadata: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    storage_key: Mapped[str] = mapped_column(String(500), nullable=False, unique=True)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    detected_format: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()
