"""Periodic upkeep every queue needs: finish jobs whose workers died too often, and queued
jobs that were cancelled before any worker took them."""

from __future__ import annotations

import logging

from worldsmith.core.container import Container
from worldsmith.core.jobs import repository as jobs_repo
from worldsmith.core.jobs.tasks import TaskRegistry
from worldsmith.core.models import JobStatus

log = logging.getLogger(__name__)


async def sweep_once(container: Container, registry: TaskRegistry) -> int:
    finished = 0
    async with container.db.transaction() as session:
        for job in await jobs_repo.exhausted_jobs(session):
            message = (
                f"the job was interrupted {job.attempts} times (its worker stopped); "
                "the charge was refunded"
            )
            if await jobs_repo.finish(
                session, job.id, None, JobStatus.FAILED, error_code=500, error_message=message
            ):
                await registry.get(job.kind).on_finished(session, job, JobStatus.FAILED, None, True)
                finished += 1
        for job in await jobs_repo.cancelled_waiting_jobs(session):
            if await jobs_repo.finish(
                session,
                job.id,
                None,
                JobStatus.CANCELLED,
                error_code=499,
                error_message="cancelled",
            ):
                await registry.get(job.kind).on_finished(
                    session, job, JobStatus.CANCELLED, None, True
                )
                finished += 1
    if finished:
        log.info("sweep finished %d abandoned job(s)", finished)
    return finished
