"""Credits: concurrent spends never overdraw, the ledger always explains the balance."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import make_account
from tests.worlds.helpers import text_request
from worldsmith.billing import service as billing
from worldsmith.core.container import Container
from worldsmith.core.errors import PaymentRequired
from worldsmith.core.models import Job, LedgerEntry

MINI_TEXT = 230 * 800


async def _ledger_sum(container: Container, account_id: str) -> int:
    async with container.db.read() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_micro_usd), 0)).where(
                LedgerEntry.account_id == account_id
            )
        )
    return int(total or 0)


@pytest.mark.no_workers
async def test_concurrent_spends_never_overdraw(
    client: httpx.AsyncClient, container: Container
) -> None:
    account = await make_account(container, usd=0)
    async with container.db.transaction() as session:
        await billing.grant(session, account.account_id, MINI_TEXT * 3 + 1000, "test")

    async def attempt(i: int) -> int:
        resp = await client.post(
            "/marble/v1/worlds:generate", json=text_request(f"world {i}"), headers=account.headers
        )
        return resp.status_code

    codes = await asyncio.gather(*(attempt(i) for i in range(12)))
    assert sorted(codes) == [200] * 3 + [402] * 9
    async with container.db.read() as session:
        balance = await billing.balance_of(session, account.account_id)
        jobs = await session.scalar(
            select(func.count()).select_from(Job).where(Job.owner_id == account.account_id)
        )
        charges = await session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.account_id == account.account_id, LedgerEntry.kind == "charge")
        )
    assert balance == 1000
    assert jobs == charges == 3  # no job without its charge, no charge without a job
    assert await _ledger_sum(container, account.account_id) == balance


async def test_direct_concurrent_charges(container: Container) -> None:
    account = await make_account(container, usd=1.0)

    async def charge(i: int) -> bool:
        try:
            async with container.db.transaction() as session:
                await billing.charge_for_job(session, account.account_id, f"job{i}", 300_000, "t")
            return True
        except PaymentRequired:
            return False

    results = await asyncio.gather(*(charge(i) for i in range(10)))
    assert sum(results) == 3
    async with container.db.read() as session:
        assert await billing.balance_of(session, account.account_id) == 100_000


async def test_refund_happens_once(container: Container) -> None:
    account = await make_account(container, usd=1.0)
    async with container.db.transaction() as session:
        await billing.charge_for_job(session, account.account_id, "jobR", 250_000, "t")
    for _ in range(3):
        async with container.db.transaction() as session:
            await billing.refund_job(session, "jobR", "refund")
    async with container.db.read() as session:
        assert await billing.balance_of(session, account.account_id) == 1_000_000
    assert await _ledger_sum(container, account.account_id) == 1_000_000
