"""Media assets: prepare a signed upload, accept the bytes, hand them to world generation."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.accounts.service import Principal
from worldsmith.core.container import Container
from worldsmith.core.errors import BadRequest, NotFound
from worldsmith.core.ids import new_id
from worldsmith.core.media_probe import MediaRejected, probe_media
from worldsmith.core.models import MediaAsset
from worldsmith.core.storage.base import PresignedUpload
from worldsmith.core.storage.uploads import ReceivedUpload
from worldsmith.worlds import schemas
from worldsmith.worlds.media_types import allowed_list, content_type_for

KEY_PREFIX = "media-assets/"
READY = "ready"
PENDING = "pending"


def _extension(req: schemas.MediaAssetPrepareUploadRequest) -> str:
    ext = (req.extension or PurePosixPath(req.file_name).suffix).lower().lstrip(".")
    if not ext:
        raise BadRequest(
            f"extension is required (one of {allowed_list(req.kind)}) when file_name has none"
        )
    if content_type_for(req.kind, ext) is None:
        raise BadRequest(
            f"extension {ext!r} is not accepted for kind {req.kind!r}; "
            f"use one of {allowed_list(req.kind)}"
        )
    return ext


def max_bytes_for(container: Container, kind: str) -> int:
    settings = container.settings
    return settings.max_image_bytes if kind == "image" else settings.max_video_bytes


async def prepare_upload(
    session: AsyncSession,
    container: Container,
    principal: Principal,
    req: schemas.MediaAssetPrepareUploadRequest,
) -> tuple[MediaAsset, PresignedUpload]:
    if not req.file_name.strip() or len(req.file_name) > 500:
        raise BadRequest("file_name must be 1 to 500 characters")
    ext = _extension(req)
    content_type = content_type_for(req.kind, ext)
    assert content_type is not None
    asset_id = new_id()
    asset = MediaAsset(
        id=asset_id,
        owner_id=principal.account_id,
        file_name=req.file_name,
        extension=ext,
        kind=req.kind,
        user_metadata=req.metadata,
        status=PENDING,
        storage_key=f"{KEY_PREFIX}{principal.account_id}/{asset_id}.{ext}",
        content_type=content_type,
    )
    session.add(asset)
    await session.flush()
    upload = container.store.presign_upload(
        asset.storage_key,
        content_type=content_type,
        max_bytes=max_bytes_for(container, req.kind),
        expires_in=container.settings.upload_url_ttl_seconds,
    )
    return asset, upload


def curl_example(upload: PresignedUpload, file_name: str) -> str:
    headers = " ".join(f"--header {shlex.quote(f'{k}: {v}')}" for k, v in upload.headers.items())
    return (
        f"curl --request {upload.method} --url {shlex.quote(upload.url)} {headers} "
        f"--upload-file {shlex.quote(file_name)}"
    )


async def get_owned(session: AsyncSession, principal: Principal, asset_id: str) -> MediaAsset:
    asset = await session.get(MediaAsset, asset_id)
    if asset is None or asset.owner_id != principal.account_id:
        raise NotFound(f"media asset {asset_id} not found")
    return asset


def render(asset: MediaAsset) -> schemas.MediaAsset:
    kind: Any = asset.kind
    return schemas.MediaAsset(
        media_asset_id=asset.id,
        file_name=asset.file_name,
        extension=asset.extension,
        kind=kind,
        metadata=asset.user_metadata,
        created_at=asset.created_at,
        updated_at=asset.updated_at,
    )


class MediaAssetUploadHook:
    """Checks the uploaded bytes really are the kind of media the asset was prepared for
    before they are published, then marks the asset READY."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self._detected: dict[Path, str] = {}

    async def _asset(self, key: str) -> MediaAsset:
        async with self.container.db.read() as session:
            asset = await session.scalar(select(MediaAsset).where(MediaAsset.storage_key == key))
        if asset is None:
            raise NotFound("no media asset for this upload URL")
        return asset

    async def validate(self, upload: ReceivedUpload) -> None:
        asset = await self._asset(upload.key)
        settings = self.container.settings
        try:
            info = await asyncio.to_thread(
                probe_media,
                upload.temp_path,
                asset.kind,  # type: ignore[arg-type]
                max_bytes=max_bytes_for(self.container, asset.kind),
                max_video_seconds=settings.max_video_seconds,
            )
        except MediaRejected as exc:
            raise BadRequest(f"upload rejected: {exc.message}") from exc
        self._detected[upload.temp_path] = info.extension.lstrip(".")

    async def committed(self, upload: ReceivedUpload) -> None:
        detected = self._detected.pop(upload.temp_path, None)
        async with self.container.db.transaction() as session:
            asset = await session.scalar(
                select(MediaAsset).where(MediaAsset.storage_key == upload.key)
            )
            if asset is None:
                return
            asset.status = READY
            asset.size_bytes = upload.size
            asset.sha256 = upload.sha256
            asset.detected_format = detected
