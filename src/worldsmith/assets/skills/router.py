"""Skills endpoints of the Assets API: list the skills, run one on an asset and wait for it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request

from worldsmith.accounts.deps import CurrentPrincipal
from worldsmith.assets import service as assets_service
from worldsmith.assets.errors import AssetsError
from worldsmith.assets.skills import catalog, service
from worldsmith.core.deps import ContainerDep
from worldsmith.core.models.asset import Asset, SkillExecution

router = APIRouter(prefix="/api/v1/assets", tags=["assets: skills"])


def _utc(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


@router.get("/skills")
async def list_skills(principal: CurrentPrincipal) -> dict[str, Any]:
    return {"data": [skill.describe() for skill in catalog.SKILLS.values()]}


async def _parameters(request: Request) -> dict[str, Any] | None:
    """The body is optional. `{"parameters": {...}}` is the documented shape; a bare object of
    parameters (`{"format": "png"}`) is accepted too."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise AssetsError("skill_parameters_invalid", "the body is not valid JSON") from exc
    if body is None:
        return None
    if not isinstance(body, dict):
        raise AssetsError("skill_parameters_invalid", "the body must be a JSON object")
    if "parameters" in body:
        params = body["parameters"]
        if params is None:
            return None
        if not isinstance(params, dict):
            raise AssetsError("skill_parameters_invalid", "parameters must be a JSON object")
        return params
    return body


@router.post("/{asset_id}/skills/{skill_name}/run")
async def run_skill(
    asset_id: str,
    skill_name: str,
    request: Request,
    principal: CurrentPrincipal,
    container: ContainerDep,
) -> dict[str, Any]:
    parameters = await _parameters(request)
    catalog.get_skill(skill_name)  # an unknown skill is 404 before the asset is looked up
    async with container.db.transaction() as session:
        asset = await session.get(Asset, asset_id)
        if asset is None or asset.owner_id != principal.account_id:
            raise AssetsError("asset_not_found", f"no asset with id {asset_id!r}")
        execution = await service.start_skill(
            session, container, asset, skill_name, parameters, "api"
        )
        execution_id = execution.id
    await service.wait_for_execution(
        container, execution_id, container.settings.assets_skill_wait_seconds
    )
    async with container.db.read() as session:
        done = await session.get(SkillExecution, execution_id)
        steps = await service.step_results(session, execution_id)
        # The asset as GET /api/v1/assets/{id} shows it (the core assets renderer).
        rendered = await assets_service.get_detail(
            session, container, principal.account_id, asset_id
        )
    return {
        "data": {
            "succeeded": bool(done and done.succeeded),
            "skillName": skill_name,
            "steps": [
                {
                    "stepName": step.step_name,
                    "succeeded": step.succeeded,
                    "errorMessage": step.error_message,
                    "startedAtUtc": _utc(step.started_at),
                    "completedAtUtc": _utc(step.completed_at),
                }
                for step in steps
            ],
            "asset": rendered,
        }
    }
