"""The Assets API's HTTP surface, `/api/v1/assets...`: parse, authorize, call the service,
wrap the result in `{"data": ...}`.

Route order matters: the skills router (`/api/v1/assets/skills`, `.../{id}/skills/...`) is
included after this one, so `{asset_id}` only matches UUIDs and the fixed paths come first."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.background import BackgroundTask

from worldsmith.accounts.deps import CurrentPrincipal
from worldsmith.assets import render, repository, service
from worldsmith.assets.errors import AssetsError
from worldsmith.assets.repository import AssetQuery
from worldsmith.assets.schemas import AssetPatch, BatchDeleteBody, DeleteBody
from worldsmith.assets.uploads import receive_upload, remove_quietly
from worldsmith.config import Settings
from worldsmith.core.deps import ContainerDep
from worldsmith.core.error_handlers import validation_message
from worldsmith.core.models.asset import Asset

router = APIRouter(prefix="/api/v1/assets", tags=["Assets API"])

STATUSES = ("pending", "processing", "ready", "failed")
ORDER_FIELDS = {"createdatutc": "createdAtUtc", "createdat": "createdAtUtc", "size": "size"}
MAX_BATCH_IDS = 1000


def envelope(data: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse({"data": data}, status_code=status_code)


@router.post("", status_code=202, summary="Upload an asset (multipart/form-data)")
async def upload_asset(
    request: Request, principal: CurrentPrincipal, container: ContainerDep
) -> JSONResponse:
    form = await receive_upload(request, container.settings)
    try:
        body = await service.upload(container, principal, form)
    finally:
        await asyncio.to_thread(remove_quietly, form.path)
    return envelope(body, 202)


def _positive_int(name: str, value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise AssetsError("asset_query_invalid", f"{name} must be a whole number") from None
    if number < 1:
        raise AssetsError("asset_query_invalid", f"{name} must be 1 or more")
    return number


def parse_query(settings: Settings, params: dict[str, str | None]) -> AssetQuery:
    page = _positive_int("page", params["page"], 1)
    page_size = min(
        _positive_int("pageSize", params["pageSize"], settings.assets_default_page_size),
        settings.assets_max_page_size,
    )
    status = params["status"] or None
    if status is not None and status.lower() not in STATUSES:
        raise AssetsError("asset_query_invalid", f"status must be one of {', '.join(STATUSES)}")
    order_raw = params["orderBy"] or "createdAtUtc"
    order_by = ORDER_FIELDS.get(order_raw.lower())
    if order_by is None:
        raise AssetsError("asset_query_invalid", "orderBy must be createdAtUtc or size")
    direction = (params["orderDirection"] or "desc").lower()
    if direction not in ("asc", "desc"):
        raise AssetsError("asset_query_invalid", "orderDirection must be asc or desc")
    text = (params["q"] or "").strip() or None
    if text is not None and len(text) > 200:
        raise AssetsError("asset_query_invalid", "q must be at most 200 characters")
    return AssetQuery(
        page=page,
        page_size=page_size,
        text=text,
        content_type=(params["contentType"] or "").strip().lower() or None,
        status=status.lower() if status else None,
        order_by=order_by,
        descending=direction == "desc",
    )


@router.get("", summary="List assets")
async def list_assets(
    principal: CurrentPrincipal,
    container: ContainerDep,
    page: str | None = None,
    page_size: Annotated[str | None, Query(alias="pageSize")] = None,
    q: str | None = None,
    keyword: str | None = None,
    content_type: Annotated[str | None, Query(alias="contentType")] = None,
    status: str | None = None,
    order_by: Annotated[str | None, Query(alias="orderBy")] = None,
    sort_by: Annotated[str | None, Query(alias="sortBy")] = None,
    order_direction: Annotated[str | None, Query(alias="orderDirection")] = None,
    sort_direction: Annotated[str | None, Query(alias="sortDirection")] = None,
) -> JSONResponse:
    # Values are taken as text and checked here, so bad ones answer asset_query_invalid.
    query = parse_query(
        container.settings,
        {
            "page": page,
            "pageSize": page_size,
            "q": q if q is not None else keyword,
            "contentType": content_type,
            "status": status,
            "orderBy": order_by if order_by is not None else sort_by,
            "orderDirection": order_direction if order_direction is not None else sort_direction,
        },
    )
    async with container.db.read() as session:
        items, total = await repository.list_assets(session, principal.account_id, query)
    base = container.settings.public_base()
    return envelope(
        {
            "items": [render.list_item(base, asset) for asset in items],
            "totalCount": total,
            "page": query.page,
            "pageSize": query.page_size,
        }
    )


@router.get("/usage-stats", summary="Usage statistics of the caller's assets")
async def usage_stats(principal: CurrentPrincipal, container: ContainerDep) -> JSONResponse:
    async with container.db.read() as session:
        stats = await repository.usage_stats(session, principal.account_id)
    return envelope(render.usage(stats))


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise AssetsError("bad_request", "body: not valid JSON") from None


def _validated(model: type[Any], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        from fastapi.exceptions import RequestValidationError

        raise AssetsError(
            "bad_request", validation_message(RequestValidationError(exc.errors()))
        ) from None


@router.post("/batch-delete", summary="Delete several assets")
async def batch_delete(
    request: Request, principal: CurrentPrincipal, container: ContainerDep
) -> JSONResponse:
    data = await _json_body(request)
    commit_message = None
    if isinstance(data, dict):
        parsed: BatchDeleteBody = _validated(BatchDeleteBody, data)
        ids, commit_message = parsed.ids, parsed.commit_message
    elif isinstance(data, list):
        if not all(isinstance(item, str) for item in data):
            raise AssetsError("bad_request", "ids: every id must be a string")
        ids = data
    else:
        ids = None
    if not ids:
        raise AssetsError("asset_ids_required", "send a JSON array of asset ids to delete")
    if len(ids) > MAX_BATCH_IDS:
        raise AssetsError("bad_request", f"ids: at most {MAX_BATCH_IDS} per request")
    async with container.db.transaction() as session:
        deleted = await service.delete_many(
            session, container, principal.account_id, ids, commit_message
        )
    found = {asset.id for asset in deleted}
    not_found = [i for i in dict.fromkeys(ids) if i not in found]
    return envelope({"requested": len(ids), "deleted": len(found), "notFoundIds": not_found})


def _file_response(content: service.Content, *, public: bool) -> FileResponse:
    cleanup = None
    if content.scratch is not None:
        cleanup = BackgroundTask(shutil.rmtree, content.scratch, True)
    return FileResponse(
        content.path,
        media_type=content.content_type,
        filename=content.file_name,
        content_disposition_type="inline",
        headers={"Cache-Control": "public, max-age=3600" if public else "private, no-store"},
        background=cleanup,
    )


async def _public_asset(container: ContainerDep, asset_id: str) -> Asset:
    async with container.db.read() as session:
        asset = await repository.get_any(session, asset_id)
    if asset is None or not asset.is_public:
        raise service.not_found(asset_id)
    return asset


@router.get("/public/{asset_id}/derivatives/{kind}", summary="A public asset's derivative")
async def public_derivative(asset_id: str, kind: str, container: ContainerDep) -> FileResponse:
    asset = await _public_asset(container, asset_id)
    async with container.db.read() as session:
        derivative = await repository.derivative(session, asset.id, kind)
        if derivative is None:
            raise AssetsError("not_found", f"asset {asset_id} has no {kind} derivative")
        content = await service.open_content(session, container, asset, derivative.storage_key)
    content.content_type = derivative.content_type
    content.file_name = f"{kind}.{derivative.extension}"
    return _file_response(content, public=True)


@router.get("/public/{asset_id}/{file_name}", summary="A public asset's file (no auth)")
async def public_content(asset_id: str, file_name: str, container: ContainerDep) -> FileResponse:
    asset = await _public_asset(container, asset_id)
    if file_name != asset.stored_file_name:
        raise service.not_found(asset_id)
    async with container.db.read() as session:
        content = await service.open_content(session, container, asset)
    return _file_response(content, public=True)


@router.get("/{asset_id:uuid}", summary="Get an asset")
async def get_asset(
    asset_id: uuid.UUID, principal: CurrentPrincipal, container: ContainerDep
) -> JSONResponse:
    async with container.db.read() as session:
        body = await service.get_detail(session, container, principal.account_id, str(asset_id))
    return envelope(body)


@router.patch("/{asset_id:uuid}", summary="Update an asset's metadata")
async def patch_asset(
    asset_id: uuid.UUID, body: AssetPatch, principal: CurrentPrincipal, container: ContainerDep
) -> JSONResponse:
    async with container.db.transaction() as session:
        data = await service.patch(session, container, principal.account_id, str(asset_id), body)
    return envelope(data)


@router.delete("/{asset_id:uuid}", summary="Delete an asset")
async def delete_asset(
    asset_id: uuid.UUID, request: Request, principal: CurrentPrincipal, container: ContainerDep
) -> JSONResponse:
    data = await _json_body(request)
    body: DeleteBody = _validated(DeleteBody, data if data is not None else {})
    async with container.db.transaction() as session:
        deleted = await service.delete_many(
            session, container, principal.account_id, [str(asset_id)], body.commit_message
        )
    if not deleted:
        raise service.not_found(str(asset_id))
    return envelope({"id": deleted[0].id, "status": deleted[0].status})


@router.get("/{asset_id:uuid}/content", summary="Get an asset's content", response_model=None)
async def asset_content(
    asset_id: uuid.UUID, principal: CurrentPrincipal, container: ContainerDep
) -> Response:
    async with container.db.read() as session:
        asset = await repository.get_owned(session, principal.account_id, str(asset_id))
        if asset is None:
            raise service.not_found(str(asset_id))
        if asset.is_public:
            url = render.public_url(container.settings.public_base(), asset)
            assert url is not None
            return RedirectResponse(url, status_code=307)
        content = await service.open_content(session, container, asset)
    return _file_response(content, public=False)
