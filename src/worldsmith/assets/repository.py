"""All SQL of the Assets API. Every query is scoped to the owner, so another account's asset
is indistinguishable from a missing one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.core.models.asset import (
    Asset,
    AssetAiResult,
    AssetCount,
    AssetDerivative,
    SkillExecution,
    SkillStepResult,
)

_LIKE_ESCAPE = "\\"


@dataclass(frozen=True)
class AssetQuery:
    page: int
    page_size: int
    text: str | None
    content_type: str | None
    status: str | None
    order_by: str  # "createdAtUtc" | "size"
    descending: bool


async def get_owned(session: AsyncSession, owner_id: str, asset_id: str) -> Asset | None:
    return await session.scalar(
        select(Asset).where(Asset.id == asset_id, Asset.owner_id == owner_id)
    )


async def get_any(session: AsyncSession, asset_id: str) -> Asset | None:
    """Any owner's asset: only for the unauthenticated public-file routes."""
    return await session.get(Asset, asset_id)


async def get_owned_many(
    session: AsyncSession, owner_id: str, asset_ids: Sequence[str]
) -> list[Asset]:
    if not asset_ids:
        return []
    rows = await session.scalars(
        select(Asset).where(Asset.owner_id == owner_id, Asset.id.in_(list(asset_ids)))
    )
    return list(rows)


def _escape_like(text: str) -> str:
    return text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")


_S = TypeVar("_S", bound=Select[Any])


def _filtered(stmt: _S, owner_id: str, query: AssetQuery) -> _S:
    stmt = stmt.where(Asset.owner_id == owner_id)
    if query.content_type is not None:
        stmt = stmt.where(Asset.content_type == query.content_type)
    if query.status is not None:
        stmt = stmt.where(Asset.status == query.status)
    if query.text:
        # lower() LIKE lower(): case-insensitive on SQLite and PostgreSQL alike.
        pattern = f"%{_escape_like(query.text.lower())}%"
        stmt = stmt.where(
            or_(
                func.lower(Asset.original_file_name).like(pattern, escape=_LIKE_ESCAPE),
                func.lower(Asset.description).like(pattern, escape=_LIKE_ESCAPE),
                func.lower(Asset.alt_text).like(pattern, escape=_LIKE_ESCAPE),
            )
        )
    return stmt


async def _count(session: AsyncSession, owner_id: str, query: AssetQuery) -> int:
    """totalCount. Without a text search it comes from the trigger-maintained per-account
    counts (a handful of rows, whatever the account's size); a substring search has to look
    at the rows themselves."""
    if query.text:
        stmt = _filtered(select(func.count(Asset.id)), owner_id, query)
        return int(await session.scalar(stmt) or 0)
    counted = select(func.coalesce(func.sum(AssetCount.n), 0)).where(
        AssetCount.owner_id == owner_id
    )
    if query.content_type is not None:
        counted = counted.where(AssetCount.content_type == query.content_type)
    if query.status is not None:
        counted = counted.where(AssetCount.status == query.status)
    return int(await session.scalar(counted) or 0)


async def list_assets(
    session: AsyncSession, owner_id: str, query: AssetQuery
) -> tuple[list[Asset], int]:
    total = await _count(session, owner_id, query)
    # (owner_id, created_at, id) and (owner_id, size_bytes, id) indexes serve these orders.
    column = Asset.size_bytes if query.order_by == "size" else Asset.created_at
    if query.descending:
        order = (column.desc(), Asset.id.desc())
    else:
        order = (column.asc(), Asset.id.asc())
    stmt = (
        _filtered(select(Asset), owner_id, query)
        .order_by(*order)
        .limit(query.page_size)
        .offset((query.page - 1) * query.page_size)
    )
    items = list(await session.scalars(stmt))
    return items, int(total or 0)


async def derivatives(session: AsyncSession, asset_id: str) -> list[AssetDerivative]:
    rows = await session.scalars(
        select(AssetDerivative)
        .where(AssetDerivative.asset_id == asset_id)
        .order_by(AssetDerivative.created_at, AssetDerivative.kind)
    )
    return list(rows)


async def derivative_keys(session: AsyncSession, asset_ids: Sequence[str]) -> list[str]:
    rows = await session.scalars(
        select(AssetDerivative.storage_key).where(AssetDerivative.asset_id.in_(list(asset_ids)))
    )
    return list(rows)


async def derivative(session: AsyncSession, asset_id: str, kind: str) -> AssetDerivative | None:
    return await session.scalar(
        select(AssetDerivative).where(
            AssetDerivative.asset_id == asset_id, AssetDerivative.kind == kind
        )
    )


async def ai_results(session: AsyncSession, asset_id: str) -> list[AssetAiResult]:
    rows = await session.scalars(
        select(AssetAiResult)
        .where(AssetAiResult.asset_id == asset_id)
        .order_by(AssetAiResult.created_at, AssetAiResult.kind)
    )
    return list(rows)


async def latest_execution(
    session: AsyncSession, asset_id: str
) -> tuple[SkillExecution, list[SkillStepResult]] | None:
    execution = await session.scalar(
        select(SkillExecution)
        .where(SkillExecution.asset_id == asset_id)
        .order_by(SkillExecution.created_at.desc(), SkillExecution.id.desc())
        .limit(1)
    )
    if execution is None:
        return None
    steps = await session.scalars(
        select(SkillStepResult)
        .where(SkillStepResult.execution_id == execution.id)
        .order_by(SkillStepResult.position)
    )
    return execution, list(steps)


async def delete_assets(session: AsyncSession, asset_ids: Sequence[str]) -> None:
    """Rows of derivatives, AI results and executions go with them (ON DELETE CASCADE); they
    are deleted explicitly too, so the outcome does not depend on the backend's FK settings."""
    ids = list(asset_ids)
    executions = select(SkillExecution.id).where(SkillExecution.asset_id.in_(ids))
    await session.execute(
        delete(SkillStepResult).where(SkillStepResult.execution_id.in_(executions))
    )
    await session.execute(delete(SkillExecution).where(SkillExecution.asset_id.in_(ids)))
    await session.execute(delete(AssetDerivative).where(AssetDerivative.asset_id.in_(ids)))
    await session.execute(delete(AssetAiResult).where(AssetAiResult.asset_id.in_(ids)))
    await session.execute(delete(Asset).where(Asset.id.in_(ids)))


@dataclass(frozen=True)
class UsageStats:
    total_assets: int
    total_bytes: int
    total_derivatives: int
    by_content_type: list[tuple[str, int, int]]
    most_active_skill: tuple[str, int] | None


async def usage_stats(session: AsyncSession, owner_id: str) -> UsageStats:
    rows = (
        await session.execute(
            select(
                Asset.content_type,
                func.count(Asset.id),
                func.coalesce(func.sum(Asset.size_bytes), 0),
            )
            .where(Asset.owner_id == owner_id)
            .group_by(Asset.content_type)
            .order_by(func.count(Asset.id).desc(), Asset.content_type)
        )
    ).all()
    breakdown = [(str(ct), int(count), int(size)) for ct, count, size in rows]
    total_derivatives = await session.scalar(
        select(func.count(AssetDerivative.id))
        .join(Asset, Asset.id == AssetDerivative.asset_id)
        .where(Asset.owner_id == owner_id)
    )
    runs = func.count(SkillExecution.id)
    top = (
        await session.execute(
            select(SkillExecution.skill_name, runs)
            .where(SkillExecution.owner_id == owner_id)
            .group_by(SkillExecution.skill_name)
            .order_by(runs.desc(), SkillExecution.skill_name)
            .limit(1)
        )
    ).first()
    return UsageStats(
        total_assets=sum(count for _, count, _ in breakdown),
        total_bytes=sum(size for _, _, size in breakdown),
        total_derivatives=int(total_derivatives or 0),
        by_content_type=breakdown,
        most_active_skill=(str(top[0]), int(top[1])) if top else None,
    )
