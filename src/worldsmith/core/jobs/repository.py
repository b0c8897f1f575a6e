"""All SQL of the job lifecycle: claim with a lease, heartbeat, finish, sweep.

Every state change is a conditional UPDATE on (id, lease_owner, status), so a worker that lost
its lease (it stalled, another worker took the job over) can never overwrite the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.core.clock import utcnow
from worldsmith.core.models import Job, JobStatus


def _claimable(queues: list[str], now: datetime) -> Any:
    return and_(
        Job.queue.in_(queues),
        Job.cancel_requested.is_(False),
        or_(
            Job.status == JobStatus.QUEUED,
            and_(
                Job.status == JobStatus.RUNNING,
                Job.lease_expires_at < now,
                Job.attempts < Job.max_attempts,
            ),
        ),
    )


async def claim_next(
    session: AsyncSession, queues: list[str], worker_id: str, lease_seconds: float
) -> Job | None:
    """Take the oldest runnable job (queued, or running with a lapsed lease) for this worker."""
    now = utcnow()
    candidate = (
        select(Job.id)
        .where(_claimable(queues, now))
        .order_by(Job.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    job_id = await session.scalar(candidate)
    if job_id is None:
        return None
    return await claim(session, job_id, worker_id, lease_seconds, queues)


async def claim(
    session: AsyncSession, job_id: str, worker_id: str, lease_seconds: float, queues: list[str]
) -> Job | None:
    """Claim one named job if it is still claimable (the dispatcher told us its id)."""
    now = utcnow()
    stmt = (
        update(Job)
        .where(Job.id == job_id, _claimable(queues, now))
        .values(
            status=JobStatus.RUNNING,
            lease_owner=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=Job.attempts + 1,
            started_at=now,
            updated_at=now,
        )
        .returning(Job.id)
    )
    if (await session.execute(stmt)).scalar_one_or_none() is None:
        return None
    return await session.get(Job, job_id, populate_existing=True)


@dataclass(frozen=True)
class Heartbeat:
    held: bool  # False: the lease was lost, stop and write nothing
    cancel_requested: bool


async def heartbeat(
    session: AsyncSession,
    job_id: str,
    worker_id: str,
    lease_seconds: float,
    progress: tuple[float, str | None, str | None] | None,
) -> Heartbeat:
    now = utcnow()
    values: dict[str, Any] = {
        "lease_expires_at": now + timedelta(seconds=lease_seconds),
        "updated_at": now,
    }
    if progress is not None:
        values.update(progress=progress[0], progress_stage=progress[1])
        values["progress_message"] = (progress[2] or "")[:500]
    stmt = (
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == worker_id, Job.status == JobStatus.RUNNING)
        .values(**values)
        .returning(Job.cancel_requested)
    )
    cancel = (await session.execute(stmt)).scalar_one_or_none()
    return Heartbeat(held=cancel is not None, cancel_requested=bool(cancel))


async def finish(
    session: AsyncSession,
    job_id: str,
    worker_id: str | None,
    status: str,
    *,
    outputs: dict[str, Any] | None = None,
    error_code: int | None = None,
    error_message: str | None = None,
) -> bool:
    """Record the outcome if this worker still holds the job (worker_id None: any holder, for
    sweeps and cancellation). Returns whether this call made the change."""
    now = utcnow()
    conditions = [Job.id == job_id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING])]
    if worker_id is not None:
        conditions += [Job.lease_owner == worker_id, Job.status == JobStatus.RUNNING]
    values: dict[str, Any] = {
        "status": status,
        "finished_at": now,
        "updated_at": now,
        "lease_owner": None,
        "lease_expires_at": None,
    }
    if status == JobStatus.SUCCEEDED:
        values.update(outputs=outputs, progress=1.0, progress_stage="done", progress_message="")
    else:
        values.update(error_code=error_code, error_message=(error_message or "")[:2000])
    stmt = update(Job).where(*conditions).values(**values).returning(Job.id)
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def exhausted_jobs(session: AsyncSession, limit: int = 100) -> list[Job]:
    """Running jobs whose lease lapsed after their last allowed attempt (their workers died)."""
    now = utcnow()
    stmt = (
        select(Job)
        .where(
            Job.status == JobStatus.RUNNING,
            Job.lease_expires_at < now,
            Job.attempts >= Job.max_attempts,
        )
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def cancelled_waiting_jobs(session: AsyncSession, limit: int = 100) -> list[Job]:
    """Queued jobs whose cancellation was asked for: no worker will take them, so they are
    finished here."""
    stmt = (
        select(Job)
        .where(Job.status == JobStatus.QUEUED, Job.cancel_requested.is_(True))
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def lapsed_jobs(session: AsyncSession, limit: int = 100) -> list[tuple[str, str]]:
    """(id, queue) of running jobs whose lease lapsed with attempts left: their worker died
    and, with an external queue, nobody will hand them out again unless we do."""
    now = utcnow()
    stmt = (
        select(Job.id, Job.queue)
        .where(
            Job.status == JobStatus.RUNNING,
            Job.lease_expires_at < now,
            Job.attempts < Job.max_attempts,
            Job.cancel_requested.is_(False),
        )
        .limit(limit)
    )
    return [(row.id, row.queue) for row in (await session.execute(stmt)).all()]


async def request_cancel(session: AsyncSession, job_id: str) -> str | None:
    """Ask for a job to stop. A queued job is finished by the next sweep; a running one stops
    at its next heartbeat. Returns the job's status, or None if there is no such job."""
    stmt = (
        update(Job)
        .where(Job.id == job_id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        .values(cancel_requested=True, updated_at=utcnow())
        .returning(Job.status)
    )
    status = (await session.execute(stmt)).scalar_one_or_none()
    if status is not None:
        return "cancelling"
    current: str | None = await session.scalar(select(Job.status).where(Job.id == job_id))
    return current
