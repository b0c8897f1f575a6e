"""Turning the media references of a generate request into stored, validated input files.

All checks happen before anything is charged: an unusable input is a 400 with a reason, and
whatever was stored for a request that then fails is removed again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from worldsmith.accounts.service import Principal
from worldsmith.core.container import Container
from worldsmith.core.errors import BadRequest
from worldsmith.core.fetch import FetchError, FetchPolicy, fetch_to_file
from worldsmith.core.media_probe import MediaInfo, MediaRejected, probe_media
from worldsmith.core.models import MediaAsset
from worldsmith.core.units import format_size
from worldsmith.worlds import schemas
from worldsmith.worlds.media_assets import READY, UploadRejected, finalize_pending

INPUT_PREFIX = "world-inputs/"


@dataclass(frozen=True)
class StoredInput:
    key: str
    kind: str
    extension: str
    azimuth: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class InputResolver:
    def __init__(self, container: Container, principal: Principal, job_id: str) -> None:
        self.container = container
        self.principal = principal
        self.job_id = job_id
        self.created_keys: list[str] = []
        self._scratch = container.settings.work_dir / "incoming"

    async def resolve(
        self, ref: schemas.ContentReference, kind: str, field: str, azimuth: float | None = None
    ) -> StoredInput:
        if isinstance(ref, schemas.MediaAssetReference):
            return await self._from_asset(ref, kind, field, azimuth)
        await asyncio.to_thread(self._scratch.mkdir, parents=True, exist_ok=True)
        temp = self._scratch / f"{self.job_id}-{len(self.created_keys)}"
        try:
            if isinstance(ref, schemas.DataBase64Reference):
                await self._decode_inline(ref, temp, field)
            else:
                await self._fetch(ref, temp, field)
            info = await self._probe(temp, kind, field)
            extension = info.extension.lstrip(".")
            key = f"{INPUT_PREFIX}{self.job_id}/{len(self.created_keys)}.{extension}"
            await self.container.store.put_file(key, temp, info.mime)
            self.created_keys.append(key)
            return StoredInput(key, kind, extension, azimuth)
        finally:
            await asyncio.to_thread(_unlink, temp)

    async def discard(self) -> None:
        """Remove what was stored for a request that did not go through."""
        for key in self.created_keys:
            with contextlib.suppress(Exception):
                await self.container.store.delete(key)

    async def _from_asset(
        self, ref: schemas.MediaAssetReference, kind: str, field: str, azimuth: float | None
    ) -> StoredInput:
        async with self.container.db.read() as session:
            asset = await session.get(MediaAsset, ref.media_asset_id)
        if asset is None or asset.owner_id != self.principal.account_id:
            raise BadRequest(f"{field}: media asset {ref.media_asset_id} not found")
        if asset.kind != kind:
            raise BadRequest(f"{field}: media asset {asset.id} is a {asset.kind}, not a {kind}")
        if asset.status != READY:
            asset = await self._finalize(asset, field)
        extension = asset.detected_format or asset.extension or ""
        return StoredInput(asset.storage_key, kind, extension, azimuth)

    async def _finalize(self, asset: MediaAsset, field: str) -> MediaAsset:
        """A pending asset may have had its bytes PUT straight into the bucket (no upload hook
        runs there): accept them now, or say why not."""
        try:
            ready = await finalize_pending(self.container, asset)
        except UploadRejected as exc:
            raise BadRequest(f"{field}: upload rejected: {exc.reason}") from exc
        if ready.status != READY:
            raise BadRequest(
                f"{field}: media asset {asset.id} has no uploaded file yet; PUT the file to its "
                "upload_url first (see media-assets:prepare_upload)"
            )
        return ready

    async def _decode_inline(
        self, ref: schemas.DataBase64Reference, dest: Path, field: str
    ) -> None:
        limit = self.container.settings.max_inline_bytes
        data = ref.data_base64
        if data.startswith("data:") and "," in data:  # tolerate data URLs
            data = data.split(",", 1)[1]
        approx = len(data) * 3 // 4
        if approx > limit:
            raise BadRequest(
                f"{field}: inline data is about {format_size(approx)}; data_base64 is limited to "
                f"{format_size(limit)}. Upload larger files with media-assets:prepare_upload"
            )
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest(f"{field}: data_base64 is not valid base64 ({exc})") from exc
        if len(raw) > limit:
            raise BadRequest(f"{field}: inline data exceeds {format_size(limit)}")
        await asyncio.to_thread(dest.write_bytes, raw)

    async def _fetch(self, ref: schemas.UriReference, dest: Path, field: str) -> None:
        settings = self.container.settings
        policy = FetchPolicy(
            max_bytes=settings.max_uri_bytes,
            timeout_s=settings.fetch_timeout_seconds,
            allow_private=settings.fetch_allow_private,
        )
        try:
            await fetch_to_file(ref.uri, dest, policy)
        except FetchError as exc:
            raise BadRequest(f"{field}: could not fetch {ref.uri}: {exc.message}") from exc

    async def _probe(self, path: Path, kind: str, field: str) -> MediaInfo:
        settings = self.container.settings
        limit = settings.max_image_bytes if kind == "image" else settings.max_video_bytes
        try:
            return await asyncio.to_thread(
                probe_media,
                path,
                kind,  # type: ignore[arg-type]
                max_bytes=limit,
                max_video_seconds=settings.max_video_seconds,
            )
        except MediaRejected as exc:
            raise BadRequest(f"{field}: {exc.message}") from exc


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
