"""Storage provider profiles over HTTP: `/api/v1/storage-profiles`, JSON bodies with camelCase
fields, answers in a `{"data": ...}` envelope, errors in the Assets API's shape. See
docs/storage-profiles.md."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from worldsmith.accounts.deps import CurrentPrincipal
from worldsmith.assets.storage_profiles import service
from worldsmith.core.deps import ContainerDep

router = APIRouter(prefix="/api/v1/storage-profiles", tags=["storage profiles"])

JsonBody = Annotated[Any, Body()]


@router.get("")
async def list_profiles(principal: CurrentPrincipal, container: ContainerDep) -> dict[str, Any]:
    async with container.db.read() as session:
        profiles = await service.list_profiles(session, principal.account_id)
        return {"data": [service.render_profile(container, p) for p in profiles]}


@router.get("/types")
async def list_types(principal: CurrentPrincipal) -> dict[str, Any]:
    return {"data": service.render_types()}


@router.post("", status_code=201)
async def create_profile(
    principal: CurrentPrincipal, container: ContainerDep, body: JsonBody = None
) -> JSONResponse:
    async with container.db.transaction() as session:
        profile = await service.create_profile(session, container, principal.account_id, body)
        data = service.render_profile(container, profile)
    return JSONResponse({"data": data}, status_code=201)


@router.get("/{profile_id}")
async def get_profile(
    profile_id: str, principal: CurrentPrincipal, container: ContainerDep
) -> dict[str, Any]:
    async with container.db.read() as session:
        profile = await service.get_profile(session, principal.account_id, profile_id)
        return {"data": service.render_profile(container, profile)}


@router.patch("/{profile_id}")
async def update_profile(
    profile_id: str, principal: CurrentPrincipal, container: ContainerDep, body: JsonBody = None
) -> dict[str, Any]:
    async with container.db.transaction() as session:
        profile = await service.update_profile(
            session, container, principal.account_id, profile_id, body
        )
        data = service.render_profile(container, profile)
    return {"data": data}


@router.delete("/{profile_id}")
async def delete_profile(
    profile_id: str, principal: CurrentPrincipal, container: ContainerDep
) -> dict[str, Any]:
    async with container.db.transaction() as session:
        profile = await service.delete_profile(session, container, principal.account_id, profile_id)
        data = {"id": profile.id, "deleted": True}
    return {"data": data}
