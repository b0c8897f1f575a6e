"""The World API's HTTP surface, `/marble/v1/...`: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from worldsmith.accounts.deps import CurrentPrincipal
from worldsmith.core.deps import ContainerDep
from worldsmith.worlds import media_assets, schemas, service

router = APIRouter(prefix="/marble/v1", tags=["World API"])

FINISHED_OPERATION_TTL_SECONDS = 30.0


@router.get("/", summary="Health Check")
async def health_check() -> dict[str, Any]:
    return {"status": "ok"}


@router.post(
    "/media-assets:prepare_upload",
    response_model=schemas.MediaAssetPrepareUploadResponse,
    summary="Prepare a media asset upload",
)
async def prepare_media_asset_upload(
    body: schemas.MediaAssetPrepareUploadRequest,
    principal: CurrentPrincipal,
    container: ContainerDep,
) -> schemas.MediaAssetPrepareUploadResponse:
    async with container.db.transaction() as session:
        asset, upload = await media_assets.prepare_upload(session, container, principal, body)
    return schemas.MediaAssetPrepareUploadResponse(
        media_asset=media_assets.render(asset),
        upload_info=schemas.UploadUrlInfo(
            upload_url=upload.url,
            upload_method=upload.method,
            required_headers=upload.headers,
            curl_example=media_assets.curl_example(upload, asset.file_name),
        ),
    )


@router.get("/media-assets/{media_asset_id}", response_model=schemas.MediaAsset)
async def get_media_asset(
    media_asset_id: str, principal: CurrentPrincipal, container: ContainerDep
) -> schemas.MediaAsset:
    async with container.db.read() as session:
        asset = await media_assets.get_owned(session, principal, media_asset_id)
    return media_assets.render(asset)


@router.post("/worlds:generate", response_model=schemas.Operation, summary="Generate World")
async def generate_world(
    body: schemas.WorldsGenerateRequest, principal: CurrentPrincipal, container: ContainerDep
) -> schemas.Operation:
    return await service.generate(container, principal, body)


@router.get("/operations/{operation_id}", response_model=schemas.Operation)
async def get_operation(
    operation_id: str, principal: CurrentPrincipal, container: ContainerDep
) -> Response:
    # The endpoint clients poll: a finished operation never changes, so its rendered body is
    # kept briefly per process (its signed URLs stay valid for hours).
    cache = container.cache("finished-operations", FINISHED_OPERATION_TTL_SECONDS)
    cached: tuple[str, bytes] | None = cache.get(operation_id)
    if cached is not None and cached[0] == principal.account_id:
        return Response(cached[1], media_type="application/json")
    async with container.db.read() as session:
        operation = await service.get_operation(session, container, principal, operation_id)
    body = operation.model_dump_json().encode()
    if operation.done:
        cache.put(operation_id, (principal.account_id, body))
    return Response(body, media_type="application/json")


@router.get("/worlds/{world_id}", response_model=schemas.World)
async def get_world(
    world_id: str, principal: CurrentPrincipal, container: ContainerDep
) -> schemas.World:
    async with container.db.read() as session:
        return await service.get_world(session, container, principal, world_id)


@router.post("/worlds:list", response_model=schemas.ListWorldsResponse, summary="List Worlds")
async def list_worlds(
    body: schemas.ListWorldsRequest, principal: CurrentPrincipal, container: ContainerDep
) -> schemas.ListWorldsResponse:
    async with container.db.read() as session:
        return await service.list_worlds(session, container, principal, body)
