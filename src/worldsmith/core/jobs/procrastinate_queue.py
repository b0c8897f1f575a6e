"""The scale-out queue: Procrastinate on PostgreSQL.

A job's Procrastinate row is inserted by calling Procrastinate's own defer function inside our
transaction, so the job row, its charge and its dispatch commit (or roll back) together. The
Procrastinate task only carries our job id; the runner claims our row with a lease exactly as
the embedded queue does, so everything about retries, progress and outcomes stays ours.

What Procrastinate leaves to its users is done by a periodic task (`maintain`): jobs whose
worker died (our lease lapsed) are deferred again, exhausted and cancelled ones are finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.core.container import Container
from worldsmith.core.jobs import repository as jobs_repo
from worldsmith.core.jobs.process import EnginePool, worker_instance_id
from worldsmith.core.jobs.runner import JobRunner
from worldsmith.core.jobs.tasks import TaskRegistry
from worldsmith.core.models import Job

log = logging.getLogger(__name__)

RUN_JOB_TASK = "worldsmith.run_job"
MAINTAIN_TASK = "worldsmith.maintain"
MAINTENANCE_QUEUE = "maintenance"
# On stop, running jobs get this long to finish; then they are abandoned and, their lease
# lapsing, taken over by another worker.
SHUTDOWN_GRACE_SECONDS = 10.0
ORPHAN_AFTER_SECONDS = 60

_DEFER_SQL = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, :lock, "
    "CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1])"
)


def libpq_url(sqlalchemy_url: str) -> str:
    """Our SQLAlchemy URL as a plain libpq connection string for Procrastinate's pool."""
    for prefix in ("postgresql+psycopg://", "postgresql+asyncpg://", "postgres://"):
        if sqlalchemy_url.startswith(prefix):
            return "postgresql://" + sqlalchemy_url[len(prefix) :]
    return sqlalchemy_url


def queueing_lock(job_id: str) -> str:
    """At most one waiting Procrastinate row per job: re-deferring an already waiting job is
    refused by Procrastinate's unique index instead of running it twice."""
    return f"worldsmith-job:{job_id}"


async def defer_in_session(session: AsyncSession, job_id: str, queue: str) -> None:
    await session.execute(
        _DEFER_SQL,
        {
            "queue": queue,
            "task": RUN_JOB_TASK,
            "lock": queueing_lock(job_id),
            "args": json.dumps({"job_id": job_id}),
        },
    )


class ProcrastinateQueue:
    def __init__(
        self,
        container: Container,
        registry: TaskRegistry,
        *,
        workers: int,
        queues: list[str] | None = None,
        maintenance: bool = True,
    ) -> None:
        self.container = container
        self.registry = registry
        self.workers = workers
        self.queues = queues or registry.queues()
        self.maintenance = maintenance
        self.pool = EnginePool(max(container.settings.engine_processes, 1))
        self.runner = JobRunner(container, registry, self.pool)
        self.app = App(
            connector=PsycopgConnector(
                conninfo=libpq_url(container.db.url), min_size=1, max_size=max(4, workers + 2)
            )
        )
        self._instance = worker_instance_id()
        self._worker: asyncio.Task[None] | None = None
        self._register_tasks()

    def _register_tasks(self) -> None:
        @self.app.task(name=RUN_JOB_TASK, pass_context=True)
        async def run_job(context: JobContext, job_id: str) -> None:
            await self._run(job_id, f"{self._instance}:{context.job.id}")

        # Procrastinate's cron puts seconds in the 6th field: this is "every 10 seconds".
        @self.app.periodic(cron="* * * * * */10", periodic_id="sweep")
        @self.app.task(name=MAINTAIN_TASK, queue=MAINTENANCE_QUEUE, pass_context=True)
        async def maintain(context: JobContext, timestamp: int) -> None:
            from worldsmith.core.maintenance import run_maintenance

            await run_maintenance(self.container, self.registry, requeue=self.requeue_stalled)

    async def enqueue(self, session: AsyncSession, job: Job) -> None:
        await defer_in_session(session, job.id, job.queue)

    async def _run(self, job_id: str, worker_id: str) -> None:
        settings = self.container.settings
        async with self.container.db.transaction() as session:
            job = await jobs_repo.claim(
                session, job_id, worker_id, settings.job_lease_seconds, self.queues
            )
        if job is None:
            log.info("job %s is not claimable (taken, finished or cancelled); skipped", job_id)
            return
        await self.runner.execute(job, worker_id)

    async def requeue_stalled(self) -> int:
        """Defer again the jobs nobody will run: a dead worker's (lease lapsed, attempts
        left), and queued ones whose Procrastinate row is gone (its run failed before it could
        claim our row, e.g. on a database error)."""
        count = 0
        async with self.container.db.read() as session:
            stalled = await jobs_repo.lapsed_jobs(session)
            stalled += await _orphaned_queued_jobs(session)
        for job_id, queue in stalled:
            try:
                async with self.container.db.transaction() as session:
                    await defer_in_session(session, job_id, queue)
                count += 1
            except Exception as exc:  # already waiting in Procrastinate: nothing to do
                if not _is_unique_violation(exc):
                    raise
        return count

    async def start(self) -> None:
        await self.app.open_async()
        if self.workers <= 0:
            return
        self.pool.warm(self.registry.engines(self.queues))
        self._worker = asyncio.create_task(self._supervise())

    async def _supervise(self) -> None:
        """Keep a Procrastinate worker running. Procrastinate stops its worker when its
        LISTEN connection fails (a database outage); without this the process would stay up
        and take no jobs, where a restart by systemd would not even be triggered."""
        queues = [*self.queues, MAINTENANCE_QUEUE] if self.maintenance else self.queues
        backoff = 1.0
        while True:
            started = asyncio.get_running_loop().time()
            try:
                await self.app.run_worker_async(
                    queues=queues,
                    concurrency=self.workers,
                    name=self._instance,
                    install_signal_handlers=False,
                    wait=True,
                    delete_jobs="successful",
                    shutdown_graceful_timeout=SHUTDOWN_GRACE_SECONDS,
                )
                log.warning("procrastinate worker stopped; restarting")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("procrastinate worker failed; restarting in %.0f s", backoff)
            if asyncio.get_running_loop().time() - started > 60:
                backoff = 1.0
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._worker
            self._worker = None
        await self.app.close_async()
        self.pool.shutdown()


_ORPHANS_SQL = text(
    "SELECT j.id, j.queue FROM jobs j WHERE j.status = 'queued' AND NOT j.cancel_requested "
    "AND j.created_at < now() - make_interval(secs => :age) AND NOT EXISTS ("
    "SELECT 1 FROM procrastinate_jobs p WHERE p.queueing_lock = 'worldsmith-job:' || j.id "
    "AND p.status IN ('todo', 'doing')) LIMIT 100"
)


async def _orphaned_queued_jobs(session: AsyncSession) -> list[tuple[str, str]]:
    rows = await session.execute(_ORPHANS_SQL, {"age": ORPHAN_AFTER_SECONDS})
    return [(row.id, row.queue) for row in rows]


def _is_unique_violation(exc: BaseException) -> bool:
    if isinstance(exc, AlreadyEnqueued):
        return True
    cause: Any = getattr(exc, "orig", None) or exc.__cause__
    return getattr(cause, "sqlstate", None) == "23505"
