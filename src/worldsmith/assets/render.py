"""The Assets API's JSON: camelCase, timestamps in ISO 8601 UTC with a `Z`, inside the
`{"data": ...}` envelope (added by the router)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from worldsmith.assets.repository import UsageStats
from worldsmith.core.models.asset import (
    Asset,
    AssetAiResult,
    AssetDerivative,
    SkillExecution,
    SkillStepResult,
)

PUBLIC_ROUTE = "/api/v1/assets/public"


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def public_url(base: str, asset: Asset) -> str | None:
    """A stable, unauthenticated URL for a public asset's file (served by this server)."""
    if not asset.is_public:
        return None
    return f"{base}{PUBLIC_ROUTE}/{asset.id}/{asset.stored_file_name}"


def derivative_url(base: str, asset: Asset, derivative: AssetDerivative) -> str | None:
    if not asset.is_public:
        return None
    return f"{base}{PUBLIC_ROUTE}/{asset.id}/derivatives/{derivative.kind}"


def list_item(base: str, asset: Asset) -> dict[str, Any]:
    return {
        "id": asset.id,
        "type": asset.type,
        "status": asset.status,
        "originalFileName": asset.original_file_name,
        "contentType": asset.content_type,
        "size": asset.size_bytes,
        "width": asset.width,
        "height": asset.height,
        "storageProvider": asset.storage_provider,
        "storageProviderProfileId": asset.storage_profile_id,
        "publicUrl": public_url(base, asset),
        "isPublic": asset.is_public,
        "createdAtUtc": iso(asset.created_at),
        "updatedAtUtc": iso(asset.updated_at),
    }


def detail(
    base: str,
    asset: Asset,
    derivatives: list[AssetDerivative],
    ai_results: list[AssetAiResult],
    latest: tuple[SkillExecution, list[SkillStepResult]] | None,
) -> dict[str, Any]:
    body = list_item(base, asset)
    body.update(
        {
            "description": asset.description,
            "altText": asset.alt_text,
            "storedFileName": asset.stored_file_name,
            "storageKey": asset.storage_key,
            "sha256": asset.sha256,
            "derivatives": [
                {
                    "kind": d.kind,
                    "contentType": d.content_type,
                    "extension": d.extension,
                    "size": d.size_bytes,
                    "width": d.width,
                    "height": d.height,
                    "publicUrl": derivative_url(base, asset, d),
                    "createdAtUtc": iso(d.created_at),
                }
                for d in derivatives
            ],
            "aiResults": [
                {"kind": r.kind, "payloadJson": r.payload_json, "createdAtUtc": iso(r.created_at)}
                for r in ai_results
            ],
            "latestSkillExecution": execution(latest) if latest else None,
        }
    )
    return body


def execution(latest: tuple[SkillExecution, list[SkillStepResult]]) -> dict[str, Any]:
    run, steps = latest
    return {
        "skillName": run.skill_name,
        "trigger": run.trigger,
        "startedAtUtc": iso(run.started_at),
        "completedAtUtc": iso(run.completed_at),
        "succeeded": run.succeeded,
        "steps": [
            {
                "stepName": s.step_name,
                "succeeded": s.succeeded,
                "errorMessage": s.error_message,
                "startedAtUtc": iso(s.started_at),
                "completedAtUtc": iso(s.completed_at),
            }
            for s in steps
        ],
    }


def usage(stats: UsageStats) -> dict[str, Any]:
    return {
        "totalAssets": stats.total_assets,
        "totalBytes": stats.total_bytes,
        "totalDerivatives": stats.total_derivatives,
        "contentTypeBreakdown": [
            {"contentType": ct, "count": count, "totalBytes": size}
            for ct, count, size in stats.by_content_type
        ],
        "mostActiveSkill": (
            {"skillName": stats.most_active_skill[0], "runCount": stats.most_active_skill[1]}
            if stats.most_active_skill
            else None
        ),
    }
