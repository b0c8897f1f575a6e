"""Periodic upkeep, the same on both deployments (a timer in the embedded queue, a
Procrastinate periodic task in scale-out):

- jobs: requeue the ones a dead worker left (external queues only), fail the exhausted ones
  and finish cancelled waiting ones (with their refunds);
- expired artifacts: when `artifact_ttl_days` is set, a finished world's files are deleted once
  its operation expired;
- expired signed uploads: media assets whose upload URL expired without an upload are removed;
- scratch: job work directories left behind by killed workers.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select

from worldsmith.core.clock import utcnow
from worldsmith.core.container import Container
from worldsmith.core.jobs.sweeper import sweep_once
from worldsmith.core.jobs.tasks import TaskRegistry
from worldsmith.core.models import Job, JobStatus, MediaAsset, World

log = logging.getLogger(__name__)

SCRATCH_GRACE_SECONDS = 3600
BATCH = 100


@dataclass
class MaintenanceReport:
    requeued: int = 0
    finished: int = 0
    expired_worlds: int = 0
    expired_uploads: int = 0
    scratch_removed: int = 0


async def run_maintenance(
    container: Container,
    registry: TaskRegistry,
    requeue: Callable[[], Awaitable[int]] | None = None,
) -> MaintenanceReport:
    report = MaintenanceReport()
    if requeue is not None:
        report.requeued = await requeue()
    report.finished = await sweep_once(container, registry)
    report.expired_worlds = await _expire_worlds(container)
    report.expired_uploads = await _expire_uploads(container)
    report.scratch_removed = await _clean_scratch(container)
    if any(vars(report).values()):
        log.info("maintenance: %s", report)
    return report


async def _expire_worlds(container: Container) -> int:
    if container.settings.artifact_ttl_days <= 0:
        return 0
    now = utcnow()
    async with container.db.read() as session:
        rows = (
            await session.execute(
                select(World.id, World.asset_keys)
                .join(Job, Job.id == World.job_id)
                .where(Job.expires_at < now, World.asset_keys.is_not(None))
                .limit(BATCH)
            )
        ).all()
    for world_id, keys in rows:
        async with container.db.transaction() as session:
            world = await session.get(World, world_id)
            if world is not None:
                world.asset_keys = None  # no URLs are handed out from here on
        for key in (keys or {}).values():
            await container.store.delete(key)
    return len(rows)


async def _expire_uploads(container: Container) -> int:
    """Pending assets whose upload URL expired with nothing uploaded. With S3 the bytes may
    have arrived without our server seeing them (they are checked on first use): those stay."""
    cutoff = utcnow() - timedelta(seconds=container.settings.upload_url_ttl_seconds)
    async with container.db.read() as session:
        candidates = list(
            (
                await session.execute(
                    select(MediaAsset.id, MediaAsset.storage_key)
                    .where(MediaAsset.status == "pending", MediaAsset.created_at < cutoff)
                    .limit(BATCH)
                )
            ).all()
        )
    stale = [row.id for row in candidates if await container.store.stat(row.storage_key) is None]
    if not stale:
        return 0
    async with container.db.transaction() as session:
        await session.execute(
            delete(MediaAsset).where(MediaAsset.id.in_(stale), MediaAsset.status == "pending")
        )
    return len(stale)


async def _clean_scratch(container: Container) -> int:
    """Work dirs of jobs are removed by their runner; a killed worker leaves its own behind.
    A directory goes once it is an hour old and its job is no longer running."""
    candidates = await asyncio.to_thread(_old_scratch_dirs, container.settings.work_dir)
    if not candidates:
        return 0
    async with container.db.read() as session:
        running = set(
            (
                await session.execute(
                    select(Job.id).where(
                        Job.id.in_([path.name for path in candidates]),
                        Job.status == JobStatus.RUNNING,
                    )
                )
            ).scalars()
        )
    doomed = [path for path in candidates if path.name not in running]
    for path in doomed:
        await asyncio.to_thread(shutil.rmtree, path, True)
    return len(doomed)


def _old_scratch_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    cutoff = time.time() - SCRATCH_GRACE_SECONDS
    return [
        entry
        for entry in root.iterdir()
        if entry.is_dir() and entry.name != "incoming" and entry.stat().st_mtime < cutoff
    ]
