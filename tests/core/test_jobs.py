"""The job table's lifecycle: leases, takeover after a worker dies, one outcome, sweeps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import make_account
from worldsmith.core.clock import utcnow
from worldsmith.core.container import Container
from worldsmith.core.ids import new_id
from worldsmith.core.jobs import repository as jobs_repo
from worldsmith.core.jobs.sweeper import sweep_once
from worldsmith.core.jobs.tasks import TaskRegistry
from worldsmith.core.models import Job, JobStatus


class RecordingTask:
    kind = "test.record"
    queue = "test"
    engine: str | None = None

    def __init__(self) -> None:
        self.finished: list[tuple[str, str, bool]] = []

    async def run(self, job: Job, ctx: Any) -> dict[str, Any]:
        return {"ok": True}

    async def on_finished(
        self, session: AsyncSession, job: Job, status: str, outputs: Any, platform_fault: bool
    ) -> None:
        self.finished.append((job.id, status, platform_fault))


async def _new_job(container: Container, owner: str, max_attempts: int = 2) -> str:
    job_id = new_id()
    async with container.db.transaction() as session:
        session.add(
            Job(
                id=job_id,
                kind=RecordingTask.kind,
                queue="test",
                owner_id=owner,
                status=JobStatus.QUEUED,
                input={},
                cost_micro_usd=0,
                progress=0.0,
                attempts=0,
                max_attempts=max_attempts,
                cancel_requested=False,
            )
        )
    return job_id


async def _lapse_lease(container: Container, job_id: str) -> None:
    async with container.db.transaction() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


async def test_lapsed_lease_is_taken_over_and_old_worker_cannot_finish(
    container: Container,
) -> None:
    owner = (await make_account(container)).account_id
    job_id = await _new_job(container, owner)
    async with container.db.transaction() as session:
        first = await jobs_repo.claim_next(session, ["test"], "worker-a", 30)
        assert first is not None and first.id == job_id and first.attempts == 1
    async with container.db.transaction() as session:
        assert await jobs_repo.claim_next(session, ["test"], "worker-b", 30) is None  # leased

    await _lapse_lease(container, job_id)  # worker-a died
    async with container.db.transaction() as session:
        second = await jobs_repo.claim_next(session, ["test"], "worker-b", 30)
        assert second is not None and second.attempts == 2
    async with container.db.transaction() as session:
        beat = await jobs_repo.heartbeat(session, job_id, "worker-a", 30, (0.5, "x", "y"))
        assert not beat.held
        assert not await jobs_repo.finish(session, job_id, "worker-a", JobStatus.SUCCEEDED)
        assert await jobs_repo.finish(
            session, job_id, "worker-b", JobStatus.SUCCEEDED, outputs={"n": 1}
        )
        assert not await jobs_repo.finish(session, job_id, "worker-b", JobStatus.SUCCEEDED)
    async with container.db.read() as session:
        job = await session.get(Job, job_id)
        assert job is not None and job.status == JobStatus.SUCCEEDED and job.outputs == {"n": 1}


async def test_sweep_fails_jobs_whose_workers_keep_dying(container: Container) -> None:
    owner = (await make_account(container)).account_id
    job_id = await _new_job(container, owner, max_attempts=1)
    task = RecordingTask()
    registry = TaskRegistry()
    registry.register(task)
    async with container.db.transaction() as session:
        assert await jobs_repo.claim_next(session, ["test"], "worker-a", 30) is not None
    assert await sweep_once(container, registry) == 0  # lease still held
    await _lapse_lease(container, job_id)
    async with container.db.transaction() as session:  # out of attempts: nobody retries it
        assert await jobs_repo.claim_next(session, ["test"], "worker-b", 30) is None
    assert await sweep_once(container, registry) == 1
    assert task.finished == [(job_id, JobStatus.FAILED, True)]
    assert await sweep_once(container, registry) == 0


async def test_cancelled_queued_job_is_finished_by_sweep(container: Container) -> None:
    owner = (await make_account(container)).account_id
    job_id = await _new_job(container, owner)
    async with container.db.transaction() as session:
        await session.execute(update(Job).where(Job.id == job_id).values(cancel_requested=True))
    async with container.db.transaction() as session:
        assert await jobs_repo.claim_next(session, ["test"], "w", 30) is None
    task = RecordingTask()
    registry = TaskRegistry()
    registry.register(task)
    assert await sweep_once(container, registry) == 1
    assert task.finished == [(job_id, JobStatus.CANCELLED, True)]
