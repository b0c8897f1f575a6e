"""Prepaid credit in integer micro-USD: grants, charges that travel with their job, refunds.

Every movement appends a ledger row and moves the cached balance in the same transaction.
A charge is one conditional UPDATE (`balance >= cost`), so concurrent spends can never drive
the balance below zero on any backend, and the ledger's unique (job_id, kind) makes a second
charge or refund for the same job impossible.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.config import Settings
from worldsmith.core.errors import NotFound, PaymentRequired
from worldsmith.core.ids import new_id
from worldsmith.core.models import Account, LedgerEntry

MICRO = 1_000_000


def usd_to_micro(usd: float) -> int:
    return round(usd * MICRO)


def format_usd(micro: int) -> str:
    return f"${micro / MICRO:,.2f}"


def credits_to_micro(settings: Settings, credits: int) -> int:
    return credits * settings.usd_per_credit_micro


def micro_to_credits(settings: Settings, micro: int) -> int:
    return micro // settings.usd_per_credit_micro


async def _move(
    session: AsyncSession,
    account_id: str,
    amount: int,
    kind: str,
    *,
    job_id: str | None = None,
    memo: str | None = None,
) -> int | None:
    """Add `amount` (negative to spend) if the balance stays >= 0; returns the new balance,
    or None when the account is missing or the balance is short."""
    stmt = (
        update(Account)
        .where(Account.id == account_id, Account.balance_micro_usd + amount >= 0)
        .values(balance_micro_usd=Account.balance_micro_usd + amount)
        .returning(Account.balance_micro_usd)
    )
    balance = (await session.execute(stmt)).scalar_one_or_none()
    if balance is None:
        return None
    session.add(
        LedgerEntry(
            id=new_id(),
            account_id=account_id,
            kind=kind,
            amount_micro_usd=amount,
            balance_after_micro_usd=balance,
            job_id=job_id,
            memo=memo,
        )
    )
    await session.flush()
    return balance


async def grant(session: AsyncSession, account_id: str, micro: int, memo: str) -> int:
    if micro <= 0:
        raise ValueError("a grant must be positive")
    balance = await _move(session, account_id, micro, "grant", memo=memo)
    if balance is None:
        raise NotFound(f"no account {account_id}")
    return balance


async def charge_for_job(
    session: AsyncSession, account_id: str, job_id: str, micro: int, memo: str
) -> int:
    """Charge for a job inside the transaction that creates it."""
    if micro == 0:
        return await balance_of(session, account_id)
    balance = await _move(session, account_id, -micro, "charge", job_id=job_id, memo=memo)
    if balance is None:
        have = await balance_of(session, account_id)
        raise PaymentRequired(
            f"insufficient credits: this costs {format_usd(micro)} and the balance is "
            f"{format_usd(have)}; add credits and try again"
        )
    return balance


async def refund_job(session: AsyncSession, job_id: str, memo: str) -> bool:
    """Give back what a job was charged, once. Returns False when there is nothing to refund
    (no charge, or already refunded)."""
    rows = (
        await session.execute(select(LedgerEntry).where(LedgerEntry.job_id == job_id))
    ).scalars()
    by_kind = {row.kind: row for row in rows}
    charge = by_kind.get("charge")
    if charge is None or "refund" in by_kind:
        return False
    await _move(
        session, charge.account_id, -charge.amount_micro_usd, "refund", job_id=job_id, memo=memo
    )
    return True


async def balance_of(session: AsyncSession, account_id: str) -> int:
    balance = await session.scalar(
        select(Account.balance_micro_usd).where(Account.id == account_id)
    )
    if balance is None:
        raise NotFound(f"no account {account_id}")
    return balance
