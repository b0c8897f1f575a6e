"""Accounts, their API keys and the append-only credit ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from worldsmith.core.models.base import Base, BigInt, UTCDateTime, created_column, id_column


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("balance_micro_usd >= 0", name="balance_not_negative"),)

    id: Mapped[str] = id_column()
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    # A cache of SUM(ledger.amount), updated in the same statement that appends to the ledger;
    # the check constraint is the last line of defence against overspending.
    balance_micro_usd: Mapped[int] = mapped_column(BigInt, nullable=False, default=0)
    created_at: Mapped[datetime] = created_column()


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = id_column()
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True, nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_column()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LedgerEntry(Base):
    """One movement of credit. Rows are only ever inserted. A job has at most one charge and
    at most one refund, enforced by the unique constraint."""

    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("job_id", "kind", name="uq_ledger_job_kind"),)

    id: Mapped[str] = id_column()
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # grant | charge | refund
    amount_micro_usd: Mapped[int] = mapped_column(BigInt, nullable=False)
    balance_after_micro_usd: Mapped[int] = mapped_column(BigInt, nullable=False)
    job_id: Mapped[str | None] = mapped_column(String(32), index=True)
    memo: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_column()
