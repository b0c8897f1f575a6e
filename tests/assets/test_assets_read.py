"""GET list / detail, PATCH, and the error shapes of the Assets API."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.assets.assets_helpers import API, error_code, image_bytes, upload_ready
from tests.conftest import TestAccount
from worldsmith.core.clock import utcnow
from worldsmith.core.container import Container
from worldsmith.core.ids import new_uuid
from worldsmith.core.models.asset import (
    AssetAiResult,
    AssetDerivative,
    SkillExecution,
    SkillStepResult,
)


async def _seed(client: httpx.AsyncClient, account: TestAccount) -> list[dict[str, Any]]:
    made = []
    specs = [
        ("PNG", (10, 10), "sunset.png", "Golden SUNSET over the sea", None),
        ("JPEG", (60, 40), "cat.jpg", None, "A cat on a mat"),
        ("BMP", (50, 50), "big_50%.bmp", "plain", "nothing"),
    ]
    for fmt, size, name, description, alt in specs:
        fields = {"description": description} if description else {}
        if alt:
            fields["altText"] = alt
        made.append(
            await upload_ready(
                client, account.headers, image_bytes(fmt, size), file_name=name, **fields
            )
        )
    return made


async def _list(client: httpx.AsyncClient, account: TestAccount, **params: Any) -> dict[str, Any]:
    response = await client.get(API, headers=account.headers, params=params)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_list_defaults_filters_sorting_paging(
    client: httpx.AsyncClient, account: TestAccount, other_account: TestAccount
) -> None:
    sunset, cat, bmp = await _seed(client, account)
    await upload_ready(client, other_account.headers)  # never visible to `account`

    data = await _list(client, account)
    assert data["totalCount"] == 3 and data["page"] == 1 and data["pageSize"] == 20
    assert [i["id"] for i in data["items"]] == [bmp["id"], cat["id"], sunset["id"]]  # newest first
    item = data["items"][0]
    assert set(item) == {
        "id", "type", "status", "originalFileName", "contentType", "size", "width", "height",
        "storageProvider", "storageProviderProfileId", "publicUrl", "isPublic", "createdAtUtc",
        "updatedAtUtc",
    }  # fmt: skip

    asc = await _list(client, account, orderDirection="asc")
    assert [i["id"] for i in asc["items"]] == [sunset["id"], cat["id"], bmp["id"]]
    by_size = await _list(client, account, orderBy="size", orderDirection="asc")
    sizes = [i["size"] for i in by_size["items"]]
    assert sizes == sorted(sizes)
    by_size_desc = await _list(client, account, sortBy="size", sortDirection="desc")
    assert [i["size"] for i in by_size_desc["items"]] == sorted(sizes, reverse=True)

    assert [i["id"] for i in (await _list(client, account, q="sunset"))["items"]] == [sunset["id"]]
    assert [i["id"] for i in (await _list(client, account, keyword="CAT"))["items"]] == [cat["id"]]
    assert (await _list(client, account, q="on a mat"))["totalCount"] == 1  # alt text
    assert [i["id"] for i in (await _list(client, account, q="50%"))["items"]] == [bmp["id"]]
    assert (await _list(client, account, q="_"))["totalCount"] == 1  # literal, not a wildcard
    assert (await _list(client, account, q="zebra"))["totalCount"] == 0

    jpegs = await _list(client, account, contentType="image/jpeg")
    assert [i["id"] for i in jpegs["items"]] == [cat["id"]]
    assert (await _list(client, account, status="ready"))["totalCount"] == 3
    assert (await _list(client, account, status="pending"))["totalCount"] == 0

    page1 = await _list(client, account, pageSize=2)
    page2 = await _list(client, account, pageSize=2, page=2)
    assert page1["totalCount"] == page2["totalCount"] == 3
    assert len(page1["items"]) == 2 and len(page2["items"]) == 1
    assert page2["page"] == 2 and page2["pageSize"] == 2
    assert (await _list(client, account, pageSize=1000))["pageSize"] == 100  # capped
    assert (await _list(client, account, page=9))["items"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"page": "0"},
        {"page": "x"},
        {"pageSize": "0"},
        {"pageSize": "-5"},
        {"status": "done"},
        {"orderBy": "name"},
        {"orderDirection": "up"},
        {"sortDirection": "sideways"},
    ],
)
async def test_list_bad_query(
    client: httpx.AsyncClient, account: TestAccount, params: dict[str, str]
) -> None:
    response = await client.get(API, headers=account.headers, params=params)
    assert response.status_code == 400
    assert error_code(response) == "asset_query_invalid"


async def test_detail_with_derivatives_ai_results_and_skill_execution(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    asset = await upload_ready(client, account.headers)
    now = utcnow()
    async with container.db.transaction() as session:
        session.add(
            AssetDerivative(
                id=new_uuid(), asset_id=asset["id"], kind="thumbnail", content_type="image/webp",
                extension="webp", size_bytes=12, width=8, height=6,
                storage_key=f"assets/{asset['id']}/derivatives/thumbnail.webp",
            )
        )  # fmt: skip
        session.add(
            AssetAiResult(
                id=new_uuid(), asset_id=asset["id"], kind="caption",
                payload_json=json.dumps({"caption": "a red square"}),
            )
        )  # fmt: skip
        old = SkillExecution(
            id=new_uuid(), asset_id=asset["id"], owner_id=account.account_id, skill_name="old",
            trigger="api", created_at=now - timedelta(minutes=5),
        )  # fmt: skip
        run = SkillExecution(
            id=new_uuid(), asset_id=asset["id"], owner_id=account.account_id,
            skill_name="caption", trigger="api", started_at=now, completed_at=now,
            succeeded=False, created_at=now,
        )  # fmt: skip
        session.add_all([old, run])
        await session.flush()
        for position, (name, ok) in enumerate([("decode", True), ("caption", False)]):
            session.add(
                SkillStepResult(
                    id=new_uuid(), execution_id=run.id, position=position, step_name=name,
                    succeeded=ok, error_message=None if ok else "no vision model",
                    started_at=now, completed_at=now,
                )
            )  # fmt: skip

    response = await client.get(f"{API}/{asset['id']}", headers=account.headers)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["storedFileName"] == asset["storedFileName"]
    assert data["sha256"] == asset["sha256"]
    [derivative] = data["derivatives"]
    assert derivative["kind"] == "thumbnail" and derivative["extension"] == "webp"
    assert derivative["size"] == 12 and (derivative["width"], derivative["height"]) == (8, 6)
    assert derivative["contentType"] == "image/webp"
    assert derivative["publicUrl"].endswith(f"/public/{asset['id']}/derivatives/thumbnail")
    assert derivative["createdAtUtc"].endswith("Z")
    [result] = data["aiResults"]
    assert result["kind"] == "caption"
    assert json.loads(result["payloadJson"]) == {"caption": "a red square"}
    latest = data["latestSkillExecution"]
    assert latest["skillName"] == "caption" and latest["trigger"] == "api"
    assert latest["succeeded"] is False and latest["completedAtUtc"].endswith("Z")
    assert [s["stepName"] for s in latest["steps"]] == ["decode", "caption"]
    assert latest["steps"][1] == {
        "stepName": "caption",
        "succeeded": False,
        "errorMessage": "no vision model",
        "startedAtUtc": latest["steps"][1]["startedAtUtc"],
        "completedAtUtc": latest["steps"][1]["completedAtUtc"],
    }


async def test_detail_not_found(
    client: httpx.AsyncClient, account: TestAccount, other_account: TestAccount
) -> None:
    theirs = await upload_ready(client, other_account.headers)
    for asset_id in (theirs["id"], "01956f8d-0000-7000-8000-000000000001", "not-a-uuid"):
        response = await client.get(f"{API}/{asset_id}", headers=account.headers)
        assert response.status_code == 404, response.text
        assert error_code(response) in ("asset_not_found", "not_found")
    response = await client.get(f"{API}/{theirs['id']}", headers=account.headers)
    assert error_code(response) == "asset_not_found"


async def test_patch_semantics(
    client: httpx.AsyncClient, account: TestAccount, other_account: TestAccount
) -> None:
    asset = await upload_ready(client, account.headers, description="first", altText="alt")
    url = f"{API}/{asset['id']}"

    response = await client.patch(url, headers=account.headers, json={"isPublic": False})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["isPublic"] is False and data["publicUrl"] is None
    assert data["description"] == "first" and data["altText"] == "alt"  # omitted: unchanged
    assert "derivatives" in data and "sha256" in data  # the full asset

    response = await client.patch(
        url, headers=account.headers, json={"description": None, "originalFileName": "dog.png"}
    )
    data = response.json()["data"]
    assert data["description"] is None and data["altText"] == "alt"
    assert data["originalFileName"] == "dog.png" and data["isPublic"] is False
    assert data["updatedAtUtc"] >= asset["updatedAtUtc"]

    response = await client.patch(url, headers=account.headers, json={})
    assert response.status_code == 200
    assert response.json()["data"]["originalFileName"] == "dog.png"

    cases = [
        ({"description": "d" * 1001}, 400, "asset_description_too_long"),
        ({"altText": "a" * 1001}, 400, "asset_alt_text_too_long"),
        ({"originalFileName": ""}, 400, "asset_file_name_invalid"),
        ({"originalFileName": "a/b.png"}, 400, "asset_file_name_invalid"),
        ({"originalFileName": None}, 400, "asset_file_name_invalid"),
        ({"isPublic": None}, 400, "bad_request"),
        ({"isPublic": "yes"}, 400, "bad_request"),
    ]
    for body, status, code in cases:
        response = await client.patch(url, headers=account.headers, json=body)
        assert response.status_code == status, (body, response.text)
        assert error_code(response) == code
    response = await client.patch(url, headers=account.headers, json={"isPublic": "yes"})
    assert response.json()["error"]["message"].startswith("isPublic:")

    response = await client.patch(url, headers=other_account.headers, json={"isPublic": True})
    assert response.status_code == 404 and error_code(response) == "asset_not_found"


async def test_validation_shapes_per_surface(
    client: httpx.AsyncClient, account: TestAccount
) -> None:
    asset = await upload_ready(client, account.headers)
    response = await client.patch(
        f"{API}/{asset['id']}",
        headers={**account.headers, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert response.status_code == 400 and error_code(response) == "bad_request"
    # The World API keeps FastAPI's 422 {"detail": [...]}.
    response = await client.post(
        "/marble/v1/worlds:generate", headers=account.headers, json={"model": 5}
    )
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)
    # Unknown methods on assets paths answer in the assets shape.
    response = await client.put(f"{API}/{asset['id']}", headers=account.headers)
    assert response.status_code == 405 and error_code(response) == "method_not_allowed"


async def test_image_bytes_helper_sanity() -> None:
    assert image_bytes().startswith(b"\x89PNG")


async def test_fixed_paths_are_not_taken_for_ids(
    client: httpx.AsyncClient, account: TestAccount
) -> None:
    # /skills belongs to the skills router (included after this one); usage-stats is ours.
    response = await client.get(f"{API}/skills", headers=account.headers)
    assert response.status_code == 200, response.text
    assert "data" in response.json()
    response = await client.get(f"{API}/usage-stats", headers=account.headers)
    assert response.status_code == 200
