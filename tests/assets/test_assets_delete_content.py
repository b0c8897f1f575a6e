"""DELETE, batch delete, content (307 public, streamed private with Range), usage stats."""

from __future__ import annotations

import hashlib

import httpx

from tests.assets.assets_helpers import API, error_code, image_bytes, stored_files, upload_ready
from tests.conftest import TestAccount
from worldsmith.core.container import Container
from worldsmith.core.ids import new_uuid
from worldsmith.core.models.asset import AssetDerivative, SkillExecution

MISSING = "01956f8d-0000-7000-8000-000000000001"


async def _add_derivative(container: Container, asset_id: str, kind: str = "thumbnail") -> str:
    key = f"assets/{asset_id}/derivatives/{kind}.webp"
    path = container.settings.objects_dir / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF....WEBPVP8 ")
    async with container.db.transaction() as session:
        session.add(
            AssetDerivative(
                id=new_uuid(), asset_id=asset_id, kind=kind, content_type="image/webp",
                extension="webp", size_bytes=16, storage_key=key,
            )
        )  # fmt: skip
    return key


async def test_delete_removes_record_file_and_derivatives(
    client: httpx.AsyncClient,
    container: Container,
    account: TestAccount,
    other_account: TestAccount,
) -> None:
    asset = await upload_ready(client, account.headers)
    key = await _add_derivative(container, asset["id"])
    assert len(stored_files(container)) == 2
    url = f"{API}/{asset['id']}"

    response = await client.delete(url, headers=other_account.headers)
    assert response.status_code == 404 and error_code(response) == "asset_not_found"

    response = await client.request(
        "DELETE", url, headers=account.headers, json={"commitMessage": "Remove test asset"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"id": asset["id"], "status": "ready"}}
    assert stored_files(container) == []
    assert not (container.settings.objects_dir / key).exists()
    assert (await client.get(url, headers=account.headers)).status_code == 404
    response = await client.delete(url, headers=account.headers)
    assert response.status_code == 404 and error_code(response) == "asset_not_found"


async def test_delete_without_body(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    asset = await upload_ready(client, account.headers)
    response = await client.delete(f"{API}/{asset['id']}", headers=account.headers)
    assert response.status_code == 200
    assert stored_files(container) == []


async def test_batch_delete(
    client: httpx.AsyncClient,
    container: Container,
    account: TestAccount,
    other_account: TestAccount,
) -> None:
    a = await upload_ready(client, account.headers)
    b = await upload_ready(client, account.headers)
    c = await upload_ready(client, account.headers)
    theirs = await upload_ready(client, other_account.headers)

    response = await client.post(
        f"{API}/batch-delete", headers=account.headers, json=[a["id"], MISSING, theirs["id"]]
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {"requested": 3, "deleted": 1, "notFoundIds": [MISSING, theirs["id"]]}
    }
    response = await client.post(
        f"{API}/batch-delete",
        headers=account.headers,
        json={"ids": [b["id"], c["id"], "nonsense"], "commitMessage": "clean up"},
    )
    assert response.json()["data"] == {"requested": 3, "deleted": 2, "notFoundIds": ["nonsense"]}
    remaining = [p.parent.name for p in stored_files(container)]
    assert remaining == [theirs["id"]]

    for body in ([], {"ids": []}, {}, None):
        response = await client.post(f"{API}/batch-delete", headers=account.headers, json=body)
        assert response.status_code == 400
        assert error_code(response) == "asset_ids_required"
    response = await client.post(f"{API}/batch-delete", headers=account.headers, json=[1, 2])
    assert response.status_code == 400 and error_code(response) == "bad_request"


async def test_public_content_redirects(
    client: httpx.AsyncClient, account: TestAccount, other_account: TestAccount
) -> None:
    content = image_bytes("PNG", (20, 20))
    asset = await upload_ready(client, account.headers, content)
    response = await client.get(f"{API}/{asset['id']}/content", headers=account.headers)
    assert response.status_code == 307
    assert response.headers["location"] == asset["publicUrl"]
    # The public URL needs no credentials.
    public = await client.get(asset["publicUrl"])
    assert public.status_code == 200
    assert public.content == content
    assert public.headers["content-type"] == "image/png"
    # Another account cannot see it through the API.
    response = await client.get(f"{API}/{asset['id']}/content", headers=other_account.headers)
    assert response.status_code == 404 and error_code(response) == "asset_not_found"


async def test_private_content_streams_with_range(
    client: httpx.AsyncClient, account: TestAccount
) -> None:
    content = image_bytes("BMP", (30, 30))
    asset = await upload_ready(client, account.headers, content, isPublic="false")
    url = f"{API}/{asset['id']}/content"

    assert (await client.get(url)).status_code == 401
    response = await client.get(url, headers=account.headers)
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-type"] == "image/bmp"
    assert response.headers["accept-ranges"] == "bytes"
    assert hashlib.sha256(response.content).hexdigest() == asset["sha256"]

    response = await client.get(url, headers={**account.headers, "Range": "bytes=10-19"})
    assert response.status_code == 206
    assert response.content == content[10:20]
    assert response.headers["content-range"] == f"bytes 10-19/{len(content)}"

    # The public route refuses private assets.
    stored = asset["storedFileName"]
    response = await client.get(f"{API}/public/{asset['id']}/{stored}")
    assert response.status_code == 404 and error_code(response) == "asset_not_found"


async def test_public_derivative_route(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    asset = await upload_ready(client, account.headers)
    await _add_derivative(container, asset["id"])
    detail = (await client.get(f"{API}/{asset['id']}", headers=account.headers)).json()["data"]
    response = await client.get(detail["derivatives"][0]["publicUrl"])
    assert response.status_code == 200
    assert response.content == b"RIFF....WEBPVP8 "
    response = await client.get(f"{API}/public/{asset['id']}/derivatives/nope")
    assert response.status_code == 404


async def test_usage_stats(
    client: httpx.AsyncClient,
    container: Container,
    account: TestAccount,
    other_account: TestAccount,
) -> None:
    empty = await client.get(f"{API}/usage-stats", headers=account.headers)
    assert empty.json() == {
        "data": {
            "totalAssets": 0,
            "totalBytes": 0,
            "totalDerivatives": 0,
            "contentTypeBreakdown": [],
            "mostActiveSkill": None,
        }
    }
    png1 = await upload_ready(client, account.headers, image_bytes("PNG", (10, 10)))
    png2 = await upload_ready(client, account.headers, image_bytes("PNG", (20, 20)))
    jpg = await upload_ready(client, account.headers, image_bytes("JPEG", (20, 20)))
    await upload_ready(client, other_account.headers)
    await _add_derivative(container, png1["id"], "thumbnail")
    await _add_derivative(container, png1["id"], "webp")
    async with container.db.transaction() as session:
        for name in ("caption", "caption", "alt_text"):
            session.add(
                SkillExecution(
                    id=new_uuid(), asset_id=png2["id"], owner_id=account.account_id,
                    skill_name=name, trigger="api",
                )
            )  # fmt: skip
    response = await client.get(f"{API}/usage-stats", headers=account.headers)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["totalAssets"] == 3
    assert data["totalBytes"] == png1["size"] + png2["size"] + jpg["size"]
    assert data["totalDerivatives"] == 2
    assert data["contentTypeBreakdown"] == [
        {"contentType": "image/png", "count": 2, "totalBytes": png1["size"] + png2["size"]},
        {"contentType": "image/jpeg", "count": 1, "totalBytes": jpg["size"]},
    ]
    assert data["mostActiveSkill"] == {"skillName": "caption", "runCount": 2}
