"""Racing skill runs on one asset keep one derivative and one AI result per kind."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.assets.test_skills_support import encode, make_asset, run_skill, scene, steps_of
from tests.conftest import TestAccount
from worldsmith.assets.skills import imaging, service
from worldsmith.config import Settings
from worldsmith.core.container import Container
from worldsmith.core.models.asset import AssetAiResult, AssetDerivative, SkillExecution


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.embedded_workers = 4  # several workers, so the runs really overlap
    return settings


async def test_parallel_runs_keep_one_derivative_per_kind(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    asset_id = await make_asset(container, account.account_id, encode(scene(800, 600)))
    responses = await asyncio.gather(
        *(run_skill(client, account, asset_id, "basic_image_enrich") for _ in range(4))
    )
    for response in responses:
        assert response.status_code == 200, response.text
        assert steps_of(response) == [("decode", True), ("thumbnail", True), ("caption", True)]
    async with container.db.read() as session:
        thumbnails = await session.scalar(
            select(func.count())
            .select_from(AssetDerivative)
            .where(AssetDerivative.asset_id == asset_id, AssetDerivative.kind == "thumbnail")
        )
        captions = await session.scalar(
            select(func.count())
            .select_from(AssetAiResult)
            .where(AssetAiResult.asset_id == asset_id, AssetAiResult.kind == "caption")
        )
        executions = await session.scalar(select(func.count()).select_from(SkillExecution))
    assert (thumbnails, captions, executions) == (1, 1, 4)
    assert await container.store.exists(service.derivative_key(asset_id, "thumbnail", "webp"))


async def test_racing_upserts_converge(
    container: Container, account: TestAccount, tmp_path: Path
) -> None:
    asset_id = await make_asset(container, account.account_id, encode(scene()))

    async def write(index: int) -> None:
        rendered = imaging.RenderedFile(tmp_path / "x.webp", "image/webp", "webp", index, index)
        async with container.db.transaction() as session:
            await service.upsert_derivative(
                session, asset_id, "thumbnail", rendered, f"k/{index}", index
            )
            await service.upsert_ai_result(session, asset_id, "caption", {"n": index})

    await asyncio.gather(*(write(i) for i in range(1, 9)))
    async with container.db.read() as session:
        rows = list(
            await session.scalars(
                select(AssetDerivative).where(AssetDerivative.asset_id == asset_id)
            )
        )
        results = list(
            await session.scalars(select(AssetAiResult).where(AssetAiResult.asset_id == asset_id))
        )
    assert len(rows) == 1 and len(results) == 1
    assert rows[0].width == rows[0].size_bytes  # one write's values, not a mix
