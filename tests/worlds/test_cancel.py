"""Cancelling a world: queued or running, it ends cancelled and the charge comes back."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import TestAccount
from tests.worlds.helpers import generate, text_request, wait_done
from worldsmith.billing.service import balance_of
from worldsmith.core.container import Container
from worldsmith.core.jobs import repository as jobs_repo
from worldsmith.core.jobs.tasks import TaskRegistry
from worldsmith.core.maintenance import run_maintenance


async def _balance(container: Container, account: TestAccount) -> int:
    async with container.db.read() as session:
        return await balance_of(session, account.account_id)


async def test_cancel_running_world(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    before = await _balance(container, account)
    op = await generate(client, account, text_request(model="Marble 0.1-plus"))
    op_id = op["operation_id"]
    for _ in range(400):  # wait until a worker is inside the engine
        state = (await client.get(f"/marble/v1/operations/{op_id}", headers=account.headers)).json()
        if state["metadata"]["progress"]["status"] == "RUNNING":
            break
        await asyncio.sleep(0.05)
    async with container.db.transaction() as session:
        assert await jobs_repo.request_cancel(session, op_id) == "cancelling"
    done = await wait_done(client, account, op_id)
    assert done["error"] == {"code": 499, "message": "cancelled"}
    assert done["response"] is None
    assert await _balance(container, account) == before
    async with container.db.transaction() as session:  # finished jobs stay finished
        assert await jobs_repo.request_cancel(session, op_id) == "cancelled"
        assert await jobs_repo.request_cancel(session, "nope") is None


async def test_cancel_queued_world(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    await container.require_queue().stop()  # nobody takes jobs: it stays queued
    before = await _balance(container, account)
    op = await generate(client, account, text_request())
    async with container.db.transaction() as session:
        assert await jobs_repo.request_cancel(session, op["operation_id"]) == "cancelling"
    from worldsmith.app import task_registry

    registry: TaskRegistry = task_registry(container.settings)
    report = await run_maintenance(container, registry)
    assert report.finished == 1
    done = await wait_done(client, account, op["operation_id"])
    assert done["error"]["code"] == 499
    assert await _balance(container, account) == before
