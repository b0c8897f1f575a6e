"""Queries over worlds: lookups and keyset-paginated listing."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.core.errors import BadRequest
from worldsmith.core.models import Job, World, WorldTag
from worldsmith.worlds.render import JOB_STATUSES
from worldsmith.worlds.schemas import ListWorldsRequest


def encode_cursor(sort_by: str, value: datetime, world_id: str) -> str:
    raw = json.dumps({"s": sort_by, "v": value.isoformat(), "id": world_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, sort_by: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        value = datetime.fromisoformat(data["v"])
        world_id = str(data["id"])
        token_sort = data["s"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest("page_token is not a token this API returned") from exc
    if token_sort != sort_by:
        raise BadRequest(
            f"page_token was made for sort_by={token_sort!r}; repeat the request with it"
        )
    return value, world_id


async def list_worlds(
    session: AsyncSession, owner_id: str, req: ListWorldsRequest
) -> tuple[list[tuple[World, Job]], str | None]:
    sort_col: Any = World.created_at if req.sort_by == "created_at" else World.updated_at
    stmt = select(World, Job).join(Job, Job.id == World.job_id).where(World.owner_id == owner_id)
    if req.status is not None:
        stmt = stmt.where(Job.status.in_(JOB_STATUSES[req.status]))
    if req.model is not None:
        stmt = stmt.where(World.model == req.model)
    if req.is_public is not None:
        stmt = stmt.where(World.is_public.is_(req.is_public))
    if req.created_after is not None:
        stmt = stmt.where(World.created_at >= req.created_after)
    if req.created_before is not None:
        stmt = stmt.where(World.created_at < req.created_before)
    if req.tags:
        tagged = select(WorldTag.world_id).where(WorldTag.tag.in_(req.tags))
        stmt = stmt.where(World.id.in_(tagged))
    if req.page_token:
        value, last_id = decode_cursor(req.page_token, req.sort_by)
        stmt = stmt.where(or_(sort_col < value, and_(sort_col == value, World.id < last_id)))
    stmt = stmt.order_by(sort_col.desc(), World.id.desc()).limit(req.page_size + 1)
    rows = [(row[0], row[1]) for row in (await session.execute(stmt)).all()]
    next_token = None
    if len(rows) > req.page_size:
        rows = rows[: req.page_size]
        last = rows[-1][0]
        last_value = last.created_at if req.sort_by == "created_at" else last.updated_at
        next_token = encode_cursor(req.sort_by, last_value, last.id)
    return rows, next_token


async def world_with_job(session: AsyncSession, world_id: str) -> tuple[World, Job] | None:
    row = (
        await session.execute(
            select(World, Job).join(Job, Job.id == World.job_id).where(World.id == world_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def job_with_world(session: AsyncSession, job_id: str) -> tuple[Job, World | None] | None:
    row = (
        await session.execute(
            select(Job, World).outerjoin(World, World.job_id == Job.id).where(Job.id == job_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])
