"""The embedded queue: worker tasks inside the server process claim jobs straight from the
job table. Dispatch only wakes them up; the table is the queue, so a restart loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.core.container import Container
from worldsmith.core.db import after_commit
from worldsmith.core.jobs import repository as jobs_repo
from worldsmith.core.jobs.process import EnginePool, worker_instance_id
from worldsmith.core.jobs.runner import JobRunner
from worldsmith.core.jobs.tasks import TaskRegistry
from worldsmith.core.maintenance import run_maintenance
from worldsmith.core.models import Job

log = logging.getLogger(__name__)

MAINTENANCE_SECONDS = 5.0
STOP_GRACE_SECONDS = 1.0


class EmbeddedQueue:
    def __init__(
        self,
        container: Container,
        registry: TaskRegistry,
        *,
        workers: int,
        queues: list[str] | None = None,
    ) -> None:
        self.container = container
        self.registry = registry
        self.workers = workers
        self.queues = queues or registry.queues()
        self.pool = EnginePool(container.settings.engine_processes)
        self.runner = JobRunner(container, registry, self.pool)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._instance = worker_instance_id()

    async def enqueue(self, session: AsyncSession, job: Job) -> None:
        async def _wake() -> None:
            self._wake.set()

        after_commit(session, _wake)

    async def start(self) -> None:
        if self.workers <= 0:
            return  # an API-only node: jobs wait in the table for other processes
        self.pool.warm(self.registry.engines(self.queues))
        for index in range(self.workers):
            self._tasks.append(asyncio.create_task(self._work(f"{self._instance}:{index}")))
        self._tasks.append(asyncio.create_task(self._maintain()))

    async def stop(self) -> None:
        """Idle workers leave at once; a job still running is abandoned (its lease lapses and
        it is taken over on the next start), as it would be if the process died."""
        self._stopping = True
        self._wake.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_GRACE_SECONDS)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self.pool.shutdown()

    async def _work(self, worker_id: str) -> None:
        settings = self.container.settings
        while not self._stopping:
            self._wake.clear()  # before claiming, so a dispatch during the claim is not lost
            try:
                async with self.container.db.transaction() as session:
                    job = await jobs_repo.claim_next(
                        session, self.queues, worker_id, settings.job_lease_seconds
                    )
            except Exception:
                log.exception("worker %s: claim failed", worker_id)
                job = None
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), settings.job_poll_seconds)
                continue
            self._wake.set()  # there may be more queued: let an idle sibling look too
            try:
                await self.runner.execute(job, worker_id)
            except Exception:
                log.exception("worker %s: job %s crashed the runner", worker_id, job.id)

    async def _maintain(self) -> None:
        while not self._stopping:
            await asyncio.sleep(MAINTENANCE_SECONDS)
            try:
                await run_maintenance(self.container, self.registry)
            except Exception:
                log.exception("maintenance failed")
