"""Rendering jobs and worlds as the World API's operation and World objects.

URLs are signed at render time, so a World fetched later always carries fresh links.
"""

from __future__ import annotations

import time
from typing import Any

from worldsmith.core.container import Container
from worldsmith.core.models import Job, JobStatus, World
from worldsmith.core.security import UrlGrant
from worldsmith.engines.world.types import COLLIDER, PANO, SPZ_LEVELS, SPZ_PREFIX, THUMBNAIL
from worldsmith.worlds import schemas

STORED_MEDIA = "$key"  # marks a stored input inside a saved world_prompt

WORLD_STATUS = {
    JobStatus.QUEUED: "PENDING",
    JobStatus.RUNNING: "RUNNING",
    JobStatus.SUCCEEDED: "SUCCEEDED",
    JobStatus.FAILED: "FAILED",
    JobStatus.CANCELLED: "FAILED",
}
JOB_STATUSES = {
    "PENDING": [JobStatus.QUEUED],
    "RUNNING": [JobStatus.RUNNING],
    "SUCCEEDED": [JobStatus.SUCCEEDED],
    "FAILED": [JobStatus.FAILED, JobStatus.CANCELLED],
}
VIEW_METHOD = "VIEW"


def stored_media(key: str, extension: str) -> dict[str, Any]:
    return {STORED_MEDIA: key, "extension": extension}


class Renderer:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.ttl = container.settings.download_url_ttl_seconds

    def url(self, key: str) -> str:
        return self.container.store.download_url(key, expires_in=self.ttl)

    def _content(self, value: Any) -> Any:
        if isinstance(value, dict):
            if STORED_MEDIA in value:
                content = {k: v for k, v in value.items() if k != STORED_MEDIA}
                return {**content, "uri": self.url(value[STORED_MEDIA])}
            return {k: self._content(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._content(v) for v in value]
        return value

    def view_url(self, world: World) -> str:
        base = f"{self.container.settings.public_base()}/worlds/{world.id}"
        if world.is_public:
            return base
        expires = int(time.time()) + self.ttl
        sig = self.container.signer.sign(UrlGrant(VIEW_METHOD, f"worlds/{world.id}", expires))
        return f"{base}?expires={expires}&signature={sig}"

    def assets(self, world: World) -> schemas.WorldAssets | None:
        keys = world.asset_keys
        if not keys:
            return None
        spz = {
            level: self.url(keys[SPZ_PREFIX + level])
            for level in SPZ_LEVELS
            if SPZ_PREFIX + level in keys
        }
        return schemas.WorldAssets(
            caption=world.caption,
            imagery=schemas.ImageryAssets(pano_url=self.url(keys[PANO])),
            mesh=schemas.MeshAssets(collider_mesh_url=self.url(keys[COLLIDER])),
            splats=schemas.SplatAssets(
                spz_urls=spz,
                semantics_metadata=(world.asset_metadata or {}).get("semantics_metadata"),
            ),
            thumbnail_url=self.url(keys[THUMBNAIL]),
        )

    def world(self, world: World) -> schemas.World:
        return schemas.World(
            world_id=world.id,
            display_name=world.display_name,
            world_marble_url=self.view_url(world),
            assets=self.assets(world),
            created_at=world.created_at,
            updated_at=world.updated_at,
            model=world.model,
            permission=schemas.Permission(
                public=world.is_public,
                allowed_readers=world.allowed_readers,
                allowed_writers=world.allowed_writers,
            ),
            tags=world.tags,
            world_prompt=self._content(world.world_prompt),
        )

    def operation(self, job: Job, world: World | None) -> schemas.Operation:
        done = job.status in JobStatus.FINISHED
        error = None
        if job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
            error = schemas.OperationError(code=job.error_code, message=job.error_message)
        metadata: dict[str, Any] = {
            "world_id": job.subject_id,
            "progress": {
                "status": WORLD_STATUS[job.status],
                "percentage": round(job.progress * 100, 1),
                "stage": job.progress_stage,
                "description": job.progress_message or None,
            },
            "attempts": job.attempts,
        }
        response = None
        if job.status == JobStatus.SUCCEEDED and world is not None:
            response = self.world(world)
        return schemas.Operation(
            operation_id=job.id,
            done=done,
            created_at=job.created_at,
            updated_at=job.updated_at,
            expires_at=job.expires_at,
            error=error,
            metadata=metadata,
            response=response,
        )
