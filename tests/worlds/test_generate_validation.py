"""worlds:generate refuses what it cannot do, clearly, before charging anything."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.conftest import TestAccount, make_account
from tests.media import noisy_png_bytes, png_bytes
from tests.openapi_schema import assert_matches
from tests.worlds.helpers import generate, inline_image_request, text_request
from worldsmith.billing.service import balance_of
from worldsmith.core.container import Container

pytestmark = pytest.mark.no_workers


async def _balance(container: Container, account: TestAccount) -> int:
    async with container.db.read() as session:
        return await balance_of(session, account.account_id)


async def test_auth_required(client: httpx.AsyncClient, account: TestAccount) -> None:
    resp = await client.post("/marble/v1/worlds:generate", json=text_request())
    assert resp.status_code == 401 and "API key" in resp.json()["detail"]
    bad = {"WLT-Api-Key": account.api_key[:-1] + ("A" if account.api_key[-1] != "A" else "B")}
    resp = await client.post("/marble/v1/worlds:generate", json=text_request(), headers=bad)
    assert resp.status_code == 401
    unknown = {"WLT-Api-Key": "wsk_" + "0" * 33}
    assert (await client.get("/marble/v1/operations/x", headers=unknown)).status_code == 401
    for headers in (
        {"Authorization": f"Bearer {account.api_key}"},
        {"x-api-key": account.api_key},
    ):
        resp = await client.post("/marble/v1/worlds:generate", json=text_request(), headers=headers)
        assert resp.status_code == 200, resp.text
    assert (await client.get("/marble/v1/")).json() == {"status": "ok"}


async def test_charge_and_402(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    before = await _balance(container, account)
    op = await generate(client, account, text_request())
    assert op["done"] is False and op["metadata"]["world_id"]
    mini_text = (80 + 150) * 800  # credits x micro-USD per credit
    assert before - await _balance(container, account) == mini_text

    poor = await make_account(container, usd=1.0)
    resp = await client.post(
        "/marble/v1/worlds:generate",
        json=text_request(model="Marble 0.1-plus"),
        headers=poor.headers,
    )
    assert resp.status_code == 402
    assert "insufficient credits" in resp.json()["detail"]
    assert await _balance(container, poor) == 1_000_000
    listed = await client.post("/marble/v1/worlds:list", json={}, headers=poor.headers)
    assert listed.json()["worlds"] == []  # no job without its charge


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (text_request("x" * 2001), "2000"),
        ({"world_prompt": {"type": "text"}}, "text_prompt is required"),
        (
            {
                "world_prompt": {
                    "type": "multi-image",
                    "multi_image_prompt": [
                        {"content": {"source": "uri", "uri": "http://127.0.0.1:1/x.png"}}
                    ]
                    * 5,
                }
            },
            "1 to 4",
        ),
        (
            {
                "world_prompt": {
                    "type": "image",
                    "image_prompt": {"source": "media_asset", "media_asset_id": "missing"},
                }
            },
            "not found",
        ),
        (
            {
                "world_prompt": {
                    "type": "image",
                    "image_prompt": {"source": "data_base64", "data_base64": "%%%notbase64"},
                }
            },
            "not valid base64",
        ),
        (inline_image_request(b"GIF89a not a real gif"), "not a supported image"),
        (inline_image_request(png_bytes()[:60]), "truncated"),
        (inline_image_request(b""), "empty"),
        (
            {
                "world_prompt": {
                    "type": "image",
                    "image_prompt": {"source": "uri", "uri": "ftp://example.com/x.png"},
                }
            },
            "http or https",
        ),
        (
            {
                "world_prompt": {
                    "type": "video",
                    "video_prompt": {
                        "source": "data_base64",
                        "data_base64": base64.b64encode(png_bytes()).decode(),
                    },
                }
            },
            "expected a video",
        ),
    ],
)
async def test_bad_requests_are_400(
    client: httpx.AsyncClient,
    container: Container,
    account: TestAccount,
    body: dict[str, object],
    needle: str,
) -> None:
    before = await _balance(container, account)
    data = await generate(client, account, body, status=400)
    assert needle in data["detail"], data
    assert await _balance(container, account) == before
    inputs = container.store.root / "world-inputs"
    assert not inputs.exists() or not any(inputs.rglob("*.*"))


async def test_inline_size_limit(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    container.settings.max_inline_bytes = 1000
    data = await generate(client, account, inline_image_request(noisy_png_bytes()), 400)
    assert "limited to 1 KB" in data["detail"]


async def test_schema_errors_are_422(client: httpx.AsyncClient, account: TestAccount) -> None:
    for body in (
        {"world_prompt": {"type": "hologram"}},
        {"world_prompt": {"type": "text", "text_prompt": "x"}, "model": "Marble 9"},
        {"world_prompt": {"type": "text", "text_prompt": "x"}, "seed": -1},
    ):
        resp = await client.post("/marble/v1/worlds:generate", json=body, headers=account.headers)
        assert resp.status_code == 422, body
        assert_matches(resp.json(), "HTTPValidationError")
    resp = await client.post(
        "/marble/v1/worlds:generate",
        content=b"{not json",
        headers={**account.headers, "Content-Type": "application/json"},
    )
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["type"] == "json_invalid"


async def test_uri_to_private_address_blocked_by_default(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    container.settings.fetch_allow_private = False
    body = {
        "world_prompt": {
            "type": "image",
            "image_prompt": {"source": "uri", "uri": "http://169.254.169.254/latest/meta-data"},
        }
    }
    data = await generate(client, account, body, status=400)
    assert "link-local" in data["detail"]
