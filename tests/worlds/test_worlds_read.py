"""Reading worlds and operations back: ownership, public worlds, listing with every filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import TestAccount
from tests.openapi_schema import assert_matches
from tests.worlds.helpers import generate, text_request

pytestmark = pytest.mark.no_workers


async def _list(client: httpx.AsyncClient, account: TestAccount, **body: object) -> dict:
    resp = await client.post("/marble/v1/worlds:list", json=body, headers=account.headers)
    assert resp.status_code == 200, resp.text
    data: dict = resp.json()
    assert_matches(data, "ListWorldsResponse")
    return data


async def test_cross_account_404_and_public_worlds(
    client: httpx.AsyncClient, account: TestAccount, other_account: TestAccount
) -> None:
    private = await generate(client, account, text_request(display_name="Mine"))
    public = await generate(
        client, account, text_request(display_name="Shared", permission={"public": True})
    )
    op_id, world_id = private["operation_id"], private["metadata"]["world_id"]
    public_world = public["metadata"]["world_id"]

    own = await client.get(f"/marble/v1/worlds/{world_id}", headers=account.headers)
    assert own.status_code == 200
    assert_matches(own.json(), "World")
    assert own.json()["display_name"] == "Mine"
    assert own.json()["world_prompt"] == {
        "type": "text",
        "text_prompt": "a mystical forest with glowing mushrooms",
    }

    for path in (f"/marble/v1/worlds/{world_id}", f"/marble/v1/operations/{op_id}"):
        resp = await client.get(path, headers=other_account.headers)
        assert resp.status_code == 404, path
        assert "not found" in resp.json()["detail"]
    seen = await client.get(f"/marble/v1/worlds/{public_world}", headers=other_account.headers)
    assert seen.status_code == 200 and seen.json()["permission"]["public"] is True
    assert (await client.get("/marble/v1/worlds/nope", headers=account.headers)).status_code == 404
    # listing shows only your own worlds
    assert (await _list(client, other_account))["worlds"] == []


async def test_list_filters_and_pagination(client: httpx.AsyncClient, account: TestAccount) -> None:
    made = []
    for i in range(5):
        op = await generate(
            client,
            account,
            text_request(
                f"scene {i}",
                tags=["even"] if i % 2 == 0 else ["odd", "x"],
                model="Marble 0.1-mini" if i < 3 else "Marble 0.1-plus",
                permission={"public": i == 4},
            ),
        )
        made.append(op["metadata"]["world_id"])
    newest_first = list(reversed(made))

    everything = await _list(client, account)
    assert [w["world_id"] for w in everything["worlds"]] == newest_first
    assert everything["next_page_token"] is None

    page1 = await _list(client, account, page_size=2)
    page2 = await _list(client, account, page_size=2, page_token=page1["next_page_token"])
    page3 = await _list(client, account, page_size=2, page_token=page2["next_page_token"])
    pages = page1["worlds"] + page2["worlds"] + page3["worlds"]
    assert [w["world_id"] for w in pages] == newest_first
    assert page3["next_page_token"] is None

    odd = await _list(client, account, tags=["odd", "nothing"])
    assert {w["world_id"] for w in odd["worlds"]} == {made[1], made[3]}
    plus = await _list(client, account, model="Marble 0.1-plus")
    assert {w["world_id"] for w in plus["worlds"]} == {made[3], made[4]}
    public = await _list(client, account, is_public=True)
    assert [w["world_id"] for w in public["worlds"]] == [made[4]]
    pending = await _list(client, account, status="PENDING")
    assert len(pending["worlds"]) == 5
    assert (await _list(client, account, status="SUCCEEDED"))["worlds"] == []
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await _list(client, account, created_after=future))["worlds"] == []
    assert len((await _list(client, account, created_before=future))["worlds"]) == 5
    by_update = await _list(client, account, sort_by="updated_at", page_size=3)
    assert len(by_update["worlds"]) == 3

    for bad in (
        {"page_size": 0},
        {"page_size": 101},
        {"status": "COMPLETED"},
        {"sort_by": "name"},
    ):
        resp = await client.post("/marble/v1/worlds:list", json=bad, headers=account.headers)
        assert resp.status_code == 422, bad
    resp = await client.post(
        "/marble/v1/worlds:list", json={"page_token": "garbage!"}, headers=account.headers
    )
    assert resp.status_code == 400
    mismatched = await client.post(
        "/marble/v1/worlds:list",
        json={"page_token": page1["next_page_token"], "sort_by": "updated_at"},
        headers=account.headers,
    )
    assert mismatched.status_code == 400 and "sort_by" in mismatched.json()["detail"]
