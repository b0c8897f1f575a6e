"""The Assets API's rules: upload (validate, store, record, start enrichment), read, update,
delete. Never HTTP-aware; the transaction belongs to these functions' callers only where a
session is passed in."""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.accounts.service import Principal
from worldsmith.assets import render, repository
from worldsmith.assets.backends import (
    DEFAULT_UPLOAD_SKILL,
    delete_object,
    put_object,
    resolve_store,
    start_skill,
    store_for_asset,
)
from worldsmith.assets.errors import AssetsError
from worldsmith.assets.images import inspect_image
from worldsmith.assets.schemas import AssetPatch
from worldsmith.assets.uploads import UploadForm, check_text, clean_file_name
from worldsmith.core.container import Container
from worldsmith.core.db import after_commit
from worldsmith.core.ids import new_uuid
from worldsmith.core.models.asset import Asset, SkillExecution, SkillStepResult
from worldsmith.core.storage.base import ObjectStore

log = logging.getLogger(__name__)


def not_found(asset_id: str) -> AssetsError:
    return AssetsError("asset_not_found", f"no asset with id {asset_id}")


async def upload(container: Container, principal: Principal, form: UploadForm) -> dict[str, Any]:
    settings = container.settings
    info = await asyncio.to_thread(
        inspect_image, form.path, settings.assets_allowed_content_types, settings.assets_max_pixels
    )
    async with container.db.read() as session:
        resolved = await resolve_store(
            session, container, principal.account_id, form.storage_profile_id
        )
    asset_id = new_uuid()
    stored_file_name = f"{asset_id}.{info.format.extension}"
    key = f"assets/{principal.account_id}/{asset_id}/{stored_file_name}"
    await put_object(resolved.store, key, form.path, info.format.mime, form.commit_message)
    ready = not form.run_enrichment
    try:
        async with container.db.transaction() as session:
            asset = Asset(
                id=asset_id,
                owner_id=principal.account_id,
                type="image",
                status="ready" if ready else "pending",
                original_file_name=form.original_file_name,
                stored_file_name=stored_file_name,
                content_type=info.format.mime,
                size_bytes=form.size,
                sha256=form.sha256,
                width=info.width if ready else None,
                height=info.height if ready else None,
                description=form.description,
                alt_text=form.alt_text,
                is_public=form.is_public,
                storage_provider=resolved.provider,
                storage_profile_id=resolved.profile_id,
                storage_key=key,
            )
            session.add(asset)
            await session.flush()
            latest: tuple[SkillExecution, list[SkillStepResult]] | None = None
            if form.run_enrichment:
                execution = await start_skill(
                    session, container, asset, DEFAULT_UPLOAD_SKILL, None, "upload"
                )
                latest = (execution, [])
            body = render.detail(settings.public_base(), asset, [], [], latest)
    except BaseException:
        # The record never committed: take the file back out of the store.
        await delete_object(resolved.store, key, form.commit_message)
        raise
    return body


async def get_detail(
    session: AsyncSession, container: Container, owner_id: str, asset_id: str
) -> dict[str, Any]:
    asset = await repository.get_owned(session, owner_id, asset_id)
    if asset is None:
        raise not_found(asset_id)
    return await _detail(session, container, asset)


async def _detail(session: AsyncSession, container: Container, asset: Asset) -> dict[str, Any]:
    return render.detail(
        container.settings.public_base(),
        asset,
        await repository.derivatives(session, asset.id),
        await repository.ai_results(session, asset.id),
        await repository.latest_execution(session, asset.id),
    )


async def patch(
    session: AsyncSession, container: Container, owner_id: str, asset_id: str, body: AssetPatch
) -> dict[str, Any]:
    asset = await repository.get_owned(session, owner_id, asset_id)
    if asset is None:
        raise not_found(asset_id)
    fields = body.model_fields_set
    if "description" in fields:
        check_text(body.description, "asset_description_too_long", "description")
        asset.description = body.description
    if "alt_text" in fields:
        check_text(body.alt_text, "asset_alt_text_too_long", "altText")
        asset.alt_text = body.alt_text
    if "original_file_name" in fields:
        name = clean_file_name(body.original_file_name or "")
        if name is None or name != (body.original_file_name or "").strip():
            raise AssetsError(
                "asset_file_name_invalid",
                "originalFileName must be a non-empty file name of at most 255 characters, "
                "without path separators or control characters",
            )
        asset.original_file_name = name
    if "is_public" in fields:
        if body.is_public is None:
            raise AssetsError("bad_request", "isPublic: must be true or false")
        asset.is_public = body.is_public
    await session.flush()
    await session.refresh(asset)
    return await _detail(session, container, asset)


@dataclass(frozen=True)
class _Doomed:
    store: ObjectStore
    keys: list[str]


async def delete_many(
    session: AsyncSession,
    container: Container,
    owner_id: str,
    asset_ids: list[str],
    commit_message: str | None,
) -> list[Asset]:
    """Delete the owner's assets among `asset_ids` (rows now; files once the transaction has
    committed, so a rollback never leaves a record without its file). Returns those found."""
    valid = [i for i in dict.fromkeys(asset_ids) if _is_uuid(i)]
    assets = await repository.get_owned_many(session, owner_id, valid)
    if not assets:
        return []
    doomed: list[_Doomed] = []
    for asset in assets:
        store = await store_for_asset(session, container, asset)
        keys = [asset.storage_key, *await repository.derivative_keys(session, [asset.id])]
        doomed.append(_Doomed(store, keys))
    await repository.delete_assets(session, [a.id for a in assets])

    async def remove_files() -> None:
        for item in doomed:
            for key in item.keys:
                try:
                    await delete_object(item.store, key, commit_message)
                except Exception:
                    log.exception("could not delete asset file %s", key)

    after_commit(session, remove_files)
    return assets


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return len(value) == 36


@dataclass
class Content:
    path: Path
    content_type: str
    file_name: str
    scratch: Path | None  # remove once sent


async def open_content(
    session: AsyncSession, container: Container, asset: Asset, key: str | None = None
) -> Content:
    """A local file with the asset's bytes (or one derivative's): the local store's own file,
    or a download into scratch space for remote stores."""
    store = await store_for_asset(session, container, asset)
    scratch = container.settings.work_dir / "asset-downloads" / uuid.uuid4().hex
    await asyncio.to_thread(scratch.mkdir, parents=True, exist_ok=True)
    try:
        path = await store.materialize(key or asset.storage_key, scratch)
    except FileNotFoundError:
        await asyncio.to_thread(shutil.rmtree, scratch, True)
        raise AssetsError("asset_not_found", f"the file of asset {asset.id} is missing") from None
    if not path.is_relative_to(scratch):
        await asyncio.to_thread(shutil.rmtree, scratch, True)
        return Content(path, asset.content_type, asset.original_file_name, None)
    return Content(path, asset.content_type, asset.original_file_name, scratch)
