"""Running one claimed job: heartbeat its lease, relay progress, record exactly one outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from dataclasses import dataclass
from typing import Any

from worldsmith.core.container import Container
from worldsmith.core.jobs import repository as jobs_repo
from worldsmith.core.jobs.context import JobContext, LeaseLost
from worldsmith.core.jobs.process import EnginePool, read_progress
from worldsmith.core.jobs.tasks import JobTask, TaskRegistry
from worldsmith.core.models import Job, JobStatus
from worldsmith.engines.base import EngineCancelled, EngineInputError

log = logging.getLogger(__name__)

PROGRESS_TICK_SECONDS = 0.5


@dataclass
class Outcome:
    status: str
    outputs: dict[str, Any] | None = None
    error_code: int | None = None
    error_message: str | None = None
    platform_fault: bool = False


class JobRunner:
    def __init__(self, container: Container, registry: TaskRegistry, pool: EnginePool) -> None:
        self.container = container
        self.registry = registry
        self.pool = pool

    async def execute(self, job: Job, worker_id: str) -> None:
        task = self.registry.get(job.kind)
        settings = self.container.settings
        work_dir = settings.work_dir / job.id / f"attempt-{job.attempts}"
        await asyncio.to_thread(work_dir.mkdir, parents=True, exist_ok=True)
        ctx = JobContext(self.container, job.id, work_dir, self.pool)
        beat = asyncio.create_task(self._heartbeat(ctx, worker_id))
        try:
            outcome = await self._run(task, job, ctx)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        if ctx.lease_lost:
            log.warning("job %s: lease lost, result of this attempt discarded", job.id)
        else:
            await self._record(task, job, worker_id, outcome)
        await asyncio.to_thread(shutil.rmtree, work_dir, True)

    async def _run(self, task: JobTask, job: Job, ctx: JobContext) -> Outcome:
        try:
            outputs = await task.run(job, ctx)
        except EngineInputError as exc:
            return Outcome(JobStatus.FAILED, error_code=400, error_message=str(exc))
        except (EngineCancelled, LeaseLost):
            return Outcome(JobStatus.CANCELLED, error_code=499, error_message="cancelled")
        except Exception as exc:
            log.exception("job %s failed", job.id)
            return Outcome(
                JobStatus.FAILED,
                error_code=500,
                error_message=f"internal error while running the job ({type(exc).__name__}); "
                "the charge was refunded",
                platform_fault=True,
            )
        if ctx.cancelled:
            return Outcome(JobStatus.CANCELLED, error_code=499, error_message="cancelled")
        return Outcome(JobStatus.SUCCEEDED, outputs=outputs)

    async def _record(self, task: JobTask, job: Job, worker_id: str, outcome: Outcome) -> None:
        async with self.container.db.transaction() as session:
            changed = await jobs_repo.finish(
                session,
                job.id,
                worker_id,
                outcome.status,
                outputs=outcome.outputs,
                error_code=outcome.error_code,
                error_message=outcome.error_message,
            )
            if changed:
                refund = outcome.platform_fault or outcome.status == JobStatus.CANCELLED
                await task.on_finished(session, job, outcome.status, outcome.outputs, refund)

    async def _heartbeat(self, ctx: JobContext, worker_id: str) -> None:
        settings = self.container.settings
        loop = asyncio.get_running_loop()
        last_beat = loop.time()
        while True:
            await asyncio.sleep(PROGRESS_TICK_SECONDS)
            child = await asyncio.to_thread(read_progress, ctx.work_dir)
            if child is not None and child != ctx.progress_value:
                ctx.progress(*child)  # type: ignore[arg-type]
            progress = ctx.take_progress()
            due = loop.time() - last_beat >= settings.job_heartbeat_seconds
            if progress is None and not due:
                continue
            try:
                async with self.container.db.transaction() as session:
                    beat = await jobs_repo.heartbeat(
                        session, ctx.job_id, worker_id, settings.job_lease_seconds, progress
                    )
            except Exception:
                log.exception("job %s: heartbeat failed; will retry", ctx.job_id)
                continue
            last_beat = loop.time()
            if not beat.held:
                ctx.lease_lost = True
                ctx.signal_stop()
                return
            if beat.cancel_requested and not ctx.cancelled:
                ctx.cancelled = True
                ctx.signal_stop()
