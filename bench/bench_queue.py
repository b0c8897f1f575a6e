"""Job dispatch: the embedded queue (SQLite) vs Procrastinate (PostgreSQL), on this machine.

For each backend, a real worldsmith container (database, queue, runner) runs a no-op job kind.
It measures, in one run:
- dispatch rate: jobs committed with their dispatch per second (8 concurrent submitters);
- submit->start latency: from the commit of a job to the moment a worker starts running it
  (p50/p99), idle (one job at a time) and in a burst (all submitted at once: queueing);
- throughput: jobs finished per second end to end.

    python bench/bench_queue.py [--jobs 400] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.accounts.service import create_account
from worldsmith.config import Settings
from worldsmith.core.container import Container
from worldsmith.core.db import migrate
from worldsmith.core.ids import new_id
from worldsmith.core.jobs.context import JobContext
from worldsmith.core.jobs.tasks import TaskRegistry
from worldsmith.core.models import Job, JobStatus

SUBMITTERS = 8
WORKERS = 4
IDLE_JOBS = 50


class NoopTask:
    kind = "bench.noop"
    queue = "bench"
    engine: str | None = None

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.started_one = asyncio.Event()
        self.finished = asyncio.Event()
        self.expected = 0
        self.done = 0

    async def run(self, job: Job, ctx: JobContext) -> dict[str, Any]:
        self.started[job.id] = time.perf_counter()
        self.started_one.set()
        return {}

    async def on_finished(self, session: AsyncSession, job: Job, *args: Any) -> None:
        self.done += 1
        if self.done >= self.expected:
            self.finished.set()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure(label: str, settings: Settings, jobs: int) -> dict[str, float]:
    from worldsmith.app import build_queue

    container = Container.build(settings)
    await migrate(container.db.url)
    task = NoopTask()
    task.expected = jobs
    registry = TaskRegistry()
    registry.register(task)
    queue = build_queue(container, registry, workers=WORKERS, queues=["bench"])
    container.queue = queue
    async with container.db.transaction() as session:
        account, _ = await create_account(session, f"{uuid.uuid4().hex[:8]}@bench.local")
    await queue.start()
    committed: dict[str, float] = {}
    idle_committed: dict[str, float] = {}

    async def submit(count: int) -> None:
        for _ in range(count):
            job = Job(
                id=new_id(),
                kind=task.kind,
                queue=task.queue,
                owner_id=account.id,
                status=JobStatus.QUEUED,
                input={},
                cost_micro_usd=0,
                progress=0.0,
                attempts=0,
                max_attempts=3,
                cancel_requested=False,
            )
            async with container.db.transaction() as session:
                session.add(job)
                await session.flush()
                await queue.enqueue(session, job)
            committed[job.id] = time.perf_counter()

    # Unloaded: one job at a time, each waited for, so the latency is the queue's own.
    idle_latency_ms = []
    task.expected = IDLE_JOBS
    for _ in range(IDLE_JOBS):
        task.started_one.clear()
        await submit(1)
        (job_id,) = set(committed) - set(idle_committed)
        idle_committed[job_id] = committed[job_id]
        await task.started_one.wait()
        idle_latency_ms.append((task.started[job_id] - committed[job_id]) * 1000)
    await task.finished.wait()
    task.finished.clear()
    task.expected = IDLE_JOBS + SUBMITTERS * (jobs // SUBMITTERS)

    started = time.perf_counter()
    await asyncio.gather(*(submit(jobs // SUBMITTERS) for _ in range(SUBMITTERS)))
    submit_seconds = time.perf_counter() - started
    await asyncio.wait_for(task.finished.wait(), timeout=300)
    total_seconds = time.perf_counter() - started
    burst = [j for j in committed if j not in idle_committed]
    await queue.stop()
    await container.db.dispose()
    latency_ms = [(task.started[j] - committed[j]) * 1000 for j in burst]
    result = {
        "dispatch_per_s": len(burst) / submit_seconds,
        "idle_p50_ms": statistics.median(idle_latency_ms),
        "idle_p99_ms": _pct(idle_latency_ms, 0.99),
        "burst_p50_ms": statistics.median(latency_ms),
        "burst_p99_ms": _pct(latency_ms, 0.99),
        "finished_per_s": len(burst) / total_seconds,
    }
    print(
        f"{label:<27} dispatch {result['dispatch_per_s']:6.1f} jobs/s | submit->start idle "
        f"p50 {result['idle_p50_ms']:6.1f} ms p99 {result['idle_p99_ms']:6.1f} ms | burst "
        f"p50 {result['burst_p50_ms']:6.1f} ms p99 {result['burst_p99_ms']:6.1f} ms | "
        f"finished {result['finished_per_s']:5.1f} jobs/s",
        flush=True,
    )
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    print(f"{args.jobs} no-op jobs, {SUBMITTERS} submitters, {WORKERS} concurrent workers\n")
    with tempfile.TemporaryDirectory() as tmp:
        embedded = await _measure(
            "embedded (SQLite)",
            Settings(data_dir=Path(tmp) / "e", secret_key="b", job_poll_seconds=2.0),
            args.jobs,
        )
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        import psycopg

        plain = args.pg.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            url = f"{args.pg}{'&' if '?' in args.pg else '?'}options=-csearch_path%3D{schema}"
            procrastinate = await _measure(
                "procrastinate (PostgreSQL)",
                Settings(data_dir=Path(tmp) / "p", secret_key="b", database_url=url),
                args.jobs,
            )
        finally:
            with psycopg.connect(plain, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print("\nratio procrastinate / embedded:")
    for key in embedded:
        print(f"  {key:<15} {procrastinate[key] / embedded[key]:6.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
