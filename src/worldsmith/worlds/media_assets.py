"""Media assets: prepare a signed upload, accept the bytes, hand them to world generation.

Bytes arrive one of two ways. With local storage the client PUTs through this server, and the
upload hook checks them before they are published. With a bucket the client PUTs straight to
it and nothing of ours runs, so the asset is finalized on first use instead (`finalize_pending`,
called when `worlds:generate` references it). Both use `inspect_upload` and `mark_ready`.
"""

from __future__ import annotations

import asyncio
import secrets
import shlex
import shutil
from pathlib import Path, PurePosixPath
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.accounts.service import Principal
from worldsmith.core.container import Container
from worldsmith.core.errors import BadRequest, NotFound
from worldsmith.core.ids import new_id
from worldsmith.core.media_probe import MediaInfo, MediaRejected, probe_media
from worldsmith.core.models import MediaAsset
from worldsmith.core.storage.base import PresignedUpload, StoredObject
from worldsmith.core.storage.uploads import ReceivedUpload
from worldsmith.core.units import format_size
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


class UploadRejected(Exception):
    """The uploaded bytes are not acceptable media; `reason` is shown to the uploader."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def inspect_upload(container: Container, kind: str, path: Path) -> MediaInfo:
    """What an uploaded file really is, checked against its asset's kind and size limit. Both
    ways an upload arrives (through our signed PUT, or straight into a bucket) end here."""
    try:
        return await asyncio.to_thread(
            probe_media,
            path,
            kind,  # type: ignore[arg-type]
            max_bytes=max_bytes_for(container, kind),
            max_video_seconds=container.settings.max_video_seconds,
        )
    except MediaRejected as exc:
        raise UploadRejected(exc.message) from exc


async def mark_ready(
    container: Container,
    upload_key: str,
    stored: StoredObject,
    detected_format: str | None,
    *,
    pending_only: bool,
) -> bool:
    """Record the accepted bytes and mark the asset READY, in one short transaction. The asset
    is found by the key it was uploaded to; `stored.key` may differ (a verified copy). Returns
    whether this call updated it (with `pending_only`, False when another request won)."""
    conditions = [MediaAsset.storage_key == upload_key]
    if pending_only:
        conditions.append(MediaAsset.status == PENDING)
    async with container.db.transaction() as session:
        result = await session.execute(
            update(MediaAsset)
            .where(*conditions)
            .values(
                status=READY,
                storage_key=stored.key,
                size_bytes=stored.size,
                sha256=stored.sha256,
                detected_format=detected_format,
            )
        )
    return bool(cast(CursorResult[Any], result).rowcount)


async def finalize_pending(container: Container, asset: MediaAsset) -> MediaAsset:
    """Accept the bytes a client PUT straight into the bucket: no upload hook ran for them, so
    this does what the hook does, the first time the asset is used. Returns the asset as it
    now stands (READY, or still pending when nothing was uploaded yet), or raises
    UploadRejected after deleting the object (the asset stays pending, and its upload URL can
    be used again while it is valid).

    The validated bytes are stored again under a new key that no client can write to (the
    presigned PUT stays valid until it expires, and S3 cannot make it single-use), and the
    asset points there: what generation reads is exactly what was checked."""
    store = container.store
    upload_key = asset.storage_key
    size = await store.stat(upload_key)  # a presigned PUT cannot cap the size: check it here
    if size is None:  # never uploaded, or a concurrent request finalized it already
        return await _reload(container, asset)
    limit = max_bytes_for(container, asset.kind)
    if size > limit:
        await store.delete(upload_key)
        raise UploadRejected(f"the file is {format_size(size)}; the limit is {format_size(limit)}")
    scratch = container.settings.work_dir / "incoming" / f"asset-{asset.id}-{secrets.token_hex(4)}"
    try:
        try:
            path = await store.materialize(upload_key, scratch)
        except FileNotFoundError:  # finalized (or rejected) by a concurrent request
            return await _reload(container, asset)
        try:
            info = await inspect_upload(container, asset.kind, path)
        except UploadRejected:
            await store.delete(upload_key)
            raise
        extension = info.extension.lstrip(".")
        verified_key = f"{KEY_PREFIX}{asset.owner_id}/{asset.id}-{secrets.token_hex(6)}.{extension}"
        stored = await store.put_file(verified_key, path, info.mime)
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)
    if await mark_ready(container, upload_key, stored, extension, pending_only=True):
        await store.delete(upload_key)
    else:
        await store.delete(verified_key)  # a concurrent request finalized it first
    return await _reload(container, asset)


async def _reload(container: Container, asset: MediaAsset) -> MediaAsset:
    async with container.db.read() as session:
        return await session.get(MediaAsset, asset.id) or asset


class MediaAssetUploadHook:
    """Checks the bytes PUT through our signed URL (local storage) really are the kind of media
    the asset was prepared for before they are published, then marks the asset READY."""

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
        try:
            info = await inspect_upload(self.container, asset.kind, upload.temp_path)
        except UploadRejected as exc:
            raise BadRequest(f"upload rejected: {exc.reason}") from exc
        self._detected[upload.temp_path] = info.extension.lstrip(".")

    async def committed(self, upload: ReceivedUpload) -> None:
        detected = self._detected.pop(upload.temp_path, None)
        stored = StoredObject(upload.key, upload.size, upload.sha256)
        await mark_ready(self.container, upload.key, stored, detected, pending_only=False)
