"""Calls the World API tests share."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx

from tests.conftest import TestAccount
from tests.openapi_schema import assert_matches


def text_request(
    text: str = "a mystical forest with glowing mushrooms", **extra: Any
) -> dict[str, Any]:
    return {
        "world_prompt": {"type": "text", "text_prompt": text},
        "model": "Marble 0.1-mini",
        **extra,
    }


def inline_image_request(data: bytes, extension: str = "png", **extra: Any) -> dict[str, Any]:
    return {
        "world_prompt": {
            "type": "image",
            "image_prompt": {
                "source": "data_base64",
                "data_base64": base64.b64encode(data).decode(),
                "extension": extension,
            },
        },
        "model": "Marble 0.1-mini",
        **extra,
    }


async def generate(
    client: httpx.AsyncClient, account: TestAccount, body: dict[str, Any], status: int = 200
) -> dict[str, Any]:
    resp = await client.post("/marble/v1/worlds:generate", json=body, headers=account.headers)
    assert resp.status_code == status, resp.text
    data: dict[str, Any] = resp.json()
    if status == 200:
        assert_matches(data, "GenerateWorldResponse")
    return data


async def wait_done(
    client: httpx.AsyncClient, account: TestAccount, operation_id: str, wait_s: float = 120
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        resp = await client.get(f"/marble/v1/operations/{operation_id}", headers=account.headers)
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        assert_matches(data, "GetOperationResponse_World_")
        if data["done"]:
            return data
        assert loop.time() < deadline, f"operation not done in {wait_s}s: {data}"
        await asyncio.sleep(0.25)
