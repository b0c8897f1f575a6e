"""The ASGI application: every surface, and (embedded) the workers, in one process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from worldsmith.assets import router as assets_router
from worldsmith.assets.errors import assets_error_shape
from worldsmith.assets.skills import router as skills_router
from worldsmith.assets.skills.service import AssetSkillTask
from worldsmith.assets.storage_profiles import router as storage_profiles_router
from worldsmith.config import Settings, get_settings
from worldsmith.core import error_handlers
from worldsmith.core.container import Container
from worldsmith.core.db import migrate
from worldsmith.core.jobs.embedded import EmbeddedQueue
from worldsmith.core.jobs.queue import JobQueue
from worldsmith.core.jobs.tasks import TaskRegistry
from worldsmith.core.storage import routes as storage_routes
from worldsmith.worlds import router as worlds_router
from worldsmith.worlds import viewer
from worldsmith.worlds.media_assets import KEY_PREFIX, MediaAssetUploadHook
from worldsmith.worlds.tasks import WorldTask

log = logging.getLogger("worldsmith")

ASSETS_PREFIXES = ("/api/v1/assets", "/api/v1/storage-profiles")


def task_registry(settings: Settings) -> TaskRegistry:
    registry = TaskRegistry()
    registry.register(WorldTask(queue=settings.world_queue))
    registry.register(AssetSkillTask())
    return registry


def uses_procrastinate(container: Container) -> bool:
    choice = container.settings.queue
    return choice == "procrastinate" or (choice == "auto" and not container.db.is_sqlite)


def build_queue(
    container: Container,
    registry: TaskRegistry,
    *,
    workers: int,
    queues: list[str] | None = None,
) -> JobQueue:
    """The queue for this deployment: Procrastinate on PostgreSQL, the embedded one on SQLite.
    Services only ever see the JobQueue interface."""
    if uses_procrastinate(container):
        if container.db.is_sqlite:
            raise ValueError("the procrastinate queue needs PostgreSQL (WORLDSMITH_DATABASE_URL)")
        from worldsmith.core.jobs.procrastinate_queue import ProcrastinateQueue

        return ProcrastinateQueue(container, registry, workers=workers, queues=queues)
    return EmbeddedQueue(container, registry, workers=workers, queues=queues)


def wire(container: Container, *, workers: int, queues: list[str] | None = None) -> TaskRegistry:
    """Connect the domains to the core: upload hooks, job tasks, the queue."""
    registry = task_registry(container.settings)
    container.upload_hooks.register(KEY_PREFIX, MediaAssetUploadHook(container))
    container.queue = build_queue(container, registry, workers=workers, queues=queues)
    return registry


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = Container.build(settings)
        await migrate(container.db.url)
        wire(container, workers=settings.embedded_workers)
        queue = container.require_queue()
        await queue.start()
        app.state.container = container
        log.info("worldsmith ready at %s", settings.public_base())
        try:
            yield
        finally:
            await queue.stop()
            await container.db.dispose()

    app = FastAPI(
        title="worldsmith",
        version="0.1.0",
        summary="Self-hostable generative media platform",
        lifespan=lifespan,
    )
    shapes = error_handlers.ErrorShapes()
    for prefix in ASSETS_PREFIXES:
        shapes.register(prefix, assets_error_shape)
    error_handlers.install(app, shapes)
    app.include_router(worlds_router.router)
    app.include_router(assets_router.router)
    app.include_router(skills_router.router)
    app.include_router(storage_profiles_router.router)
    app.include_router(storage_routes.router)
    app.include_router(viewer.router)
    return app
