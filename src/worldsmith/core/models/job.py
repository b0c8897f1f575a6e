"""The one table for all long work: world generations, media jobs, asset enrichment runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from worldsmith.core.models.base import (
    Base,
    BigInt,
    UTCDateTime,
    created_column,
    id_column,
    updated_column,
)


class JobStatus:
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    FINISHED = (SUCCEEDED, FAILED, CANCELLED)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "queue", "status", "created_at"),
        Index("ix_jobs_owner_created", "owner_id", "created_at"),
    )

    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    queue: Mapped[str] = mapped_column(String(32), nullable=False, default="cpu")
    owner_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), nullable=False)
    subject_id: Mapped[str | None] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=JobStatus.QUEUED)

    input: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    effective_input: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    input_adjustments: Mapped[list[Any] | None] = mapped_column(JSON)
    cost_micro_usd: Mapped[int] = mapped_column(BigInt, nullable=False, default=0)

    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    progress_stage: Mapped[str | None] = mapped_column(String(64))
    progress_message: Mapped[str | None] = mapped_column(String(500))
    outputs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(String(2000))

    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
