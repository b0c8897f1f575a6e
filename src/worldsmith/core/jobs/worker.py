"""A worker process: the job queue's workers without the HTTP API (`worldsmith worker`)."""

from __future__ import annotations

import asyncio
import logging
import signal

from worldsmith.config import Settings
from worldsmith.core.container import Container

log = logging.getLogger(__name__)


async def run_worker(settings: Settings, queues: list[str], concurrency: int) -> None:
    from worldsmith.app import wire  # the same wiring as the API process

    container = Container.build(settings)
    wire(container, workers=concurrency, queues=queues)
    queue = container.require_queue()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await queue.start()
    log.info("worker taking jobs from %s with concurrency %d", ",".join(queues), concurrency)
    try:
        await stop.wait()
    finally:
        log.info("worker stopping; running jobs are taken over once their leases lapse")
        await queue.stop()
        await container.db.dispose()
