"""Storage profiles through the HTTP API: CRUD per type, validation, defaults, ownership,
masked secrets, and refusing to delete a profile that assets still use."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import TestAccount
from worldsmith.core.container import Container
from worldsmith.core.ids import new_uuid
from worldsmith.core.models.asset import Asset

API = "/api/v1/storage-profiles"

S3_CONFIG = {
    "bucket": "my-bucket",
    "prefix": "assets/",
    "endpointUrl": "http://127.0.0.1:9000",
    "region": "us-east-1",
    "accessKeyId": "AKIAEXAMPLEKEY12345",
    "secretAccessKey": "super-secret-value",
}


async def create(
    client: httpx.AsyncClient, who: TestAccount, body: dict[str, Any], status: int = 201
) -> dict[str, Any]:
    response = await client.post(API, json=body, headers=who.headers)
    assert response.status_code == status, response.text
    payload: dict[str, Any] = response.json()
    return payload


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_types(client: httpx.AsyncClient, account: TestAccount) -> None:
    response = await client.get(f"{API}/types", headers=account.headers)
    assert response.status_code == 200
    types = {item["type"]: item for item in response.json()["data"]}
    assert set(types) == {"local", "s3", "git-repo"}
    assert types["git-repo"]["capabilities"] == {
        "publicUrls": False,
        "versioning": True,
        "write": True,
    }
    assert types["s3"]["capabilities"]["publicUrls"] is True
    assert "repository" in types["git-repo"]["configKeys"]


async def test_requires_auth(client: httpx.AsyncClient) -> None:
    response = await client.get(API)
    assert response.status_code == 401
    assert error_code(response) == "unauthorized"


async def test_crud_local(client: httpx.AsyncClient, account: TestAccount) -> None:
    created = (
        await create(client, account, {"name": "Disk", "type": "local", "config": {"path": "team"}})
    )["data"]
    assert created["name"] == "Disk"
    assert created["type"] == "local"
    assert created["config"] == {"path": "team"}
    assert created["isDefault"] is False
    # inside the served objects folder: download URLs work
    assert created["capabilities"] == {"publicUrls": True, "versioning": False, "write": True}
    assert created["createdAtUtc"].endswith("Z")
    pid = created["id"]

    got = await client.get(f"{API}/{pid}", headers=account.headers)
    assert got.status_code == 200 and got.json()["data"] == created

    listed = await client.get(API, headers=account.headers)
    assert [p["id"] for p in listed.json()["data"]] == [pid]

    patched = await client.patch(f"{API}/{pid}", json={"name": "Renamed"}, headers=account.headers)
    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    assert data["name"] == "Renamed" and data["config"] == {"path": "team"}

    deleted = await client.delete(f"{API}/{pid}", headers=account.headers)
    assert deleted.status_code == 200
    assert deleted.json()["data"] == {"id": pid, "deleted": True}
    again = await client.get(f"{API}/{pid}", headers=account.headers)
    assert again.status_code == 404 and error_code(again) == "storage_profile_not_found"


async def test_crud_s3_masks_secrets(client: httpx.AsyncClient, account: TestAccount) -> None:
    created = (await create(client, account, {"name": "B", "type": "s3", "config": S3_CONFIG}))[
        "data"
    ]
    config = created["config"]
    assert config["bucket"] == "my-bucket" and config["prefix"] == "assets"
    assert config["secretAccessKey"] == "********"
    assert config["accessKeyId"] == "********2345"
    assert "super-secret-value" not in str(created)
    pid = created["id"]

    # Sending the masked values back (a GET, edited, PATCHed) keeps the real secrets.
    patch = {"config": {**config, "region": "eu-west-1"}}
    patched = await client.patch(f"{API}/{pid}", json=patch, headers=account.headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["config"]["region"] == "eu-west-1"
    listed = (await client.get(API, headers=account.headers)).text
    assert "super-secret-value" not in listed and "AKIAEXAMPLEKEY12345" not in listed

    # a null removes a key
    patched = await client.patch(
        f"{API}/{pid}", json={"config": {"region": None}}, headers=account.headers
    )
    assert "region" not in patched.json()["data"]["config"]


async def test_crud_git_repo(
    client: httpx.AsyncClient, account: TestAccount, container: Container
) -> None:
    body = {
        "name": "Repo",
        "type": "git-repo",
        "config": {
            "repository": "https://user:ghp_token123@github.com/acme/media.git",
            "branch": "main",
            "pathPrefix": "images/",
            "author": "Media Bot <bot@example.com>",
        },
    }
    created = (await create(client, account, body))["data"]
    assert created["config"]["repository"] == "https://user:********@github.com/acme/media.git"
    assert created["config"]["pathPrefix"] == "images"
    assert created["capabilities"] == {"publicUrls": False, "versioning": True, "write": True}

    local = await create(
        client, account, {"name": "L", "type": "git-repo", "config": {"repository": "mine"}}
    )
    assert local["data"]["config"] == {"repository": "mine"}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"type": "local"}, "name"),
        ({"name": "x", "type": "ftp"}, "type"),
        ({"name": "x", "type": "local", "config": {"path": "/etc"}}, "data directory"),
        ({"name": "x", "type": "local", "config": {"path": "../../etc"}}, ".."),
        ({"name": "x", "type": "local", "config": {"bucket": "b"}}, "does not take"),
        ({"name": "x", "type": "local", "config": "nope"}, "object"),
        ({"name": "x", "type": "s3", "config": {"prefix": "p"}}, "bucket"),
        ({"name": "x", "type": "s3", "config": {"bucket": "s3://b"}}, "bucket"),
        (
            {"name": "x", "type": "s3", "config": {"bucket": "bkt", "accessKeyId": "k"}},
            "secretAccessKey",
        ),
        (
            {"name": "x", "type": "s3", "config": {**S3_CONFIG, "endpointUrl": "ftp://x"}},
            "endpointUrl",
        ),
        ({"name": "x", "type": "git-repo", "config": {}}, "repository"),
        ({"name": "x", "type": "git-repo", "config": {"repository": "/srv/repo"}}, "data dir"),
        ({"name": "x", "type": "git-repo", "config": {"repository": "ext::sh -c x"}}, "valid"),
        ({"name": "x", "type": "git-repo", "config": {"repository": "ftp://h/r"}}, "scheme"),
        (
            {"name": "x", "type": "git-repo", "config": {"repository": "r", "branch": "-x"}},
            "branch",
        ),
        (
            {"name": "x", "type": "git-repo", "config": {"repository": "r", "author": "bob"}},
            "author",
        ),
        ({"name": "x", "type": "local", "isDefault": "yes"}, "isDefault"),
    ],
)
async def test_validation(
    client: httpx.AsyncClient, account: TestAccount, body: dict[str, Any], fragment: str
) -> None:
    response = await client.post(API, json=body, headers=account.headers)
    assert response.status_code == 400, response.text
    assert error_code(response) == "storage_profile_invalid"
    assert fragment in response.json()["error"]["message"]


async def test_patch_validation(client: httpx.AsyncClient, account: TestAccount) -> None:
    pid = (await create(client, account, {"name": "D", "type": "local"}))["data"]["id"]
    for body in ({"type": "s3"}, {"name": ""}, {"config": {"path": "/"}}, {"bogus": 1}):
        response = await client.patch(f"{API}/{pid}", json=body, headers=account.headers)
        assert response.status_code == 400, body
        assert error_code(response) == "storage_profile_invalid"


async def test_default_switching(client: httpx.AsyncClient, account: TestAccount) -> None:
    first = (await create(client, account, {"name": "A", "type": "local", "isDefault": True}))[
        "data"
    ]
    assert first["isDefault"] is True
    second = (await create(client, account, {"name": "B", "type": "local", "isDefault": True}))[
        "data"
    ]

    async def defaults() -> list[str]:
        listed = (await client.get(API, headers=account.headers)).json()["data"]
        return [p["name"] for p in listed if p["isDefault"]]

    assert await defaults() == ["B"]
    patched = await client.patch(
        f"{API}/{first['id']}", json={"isDefault": True}, headers=account.headers
    )
    assert patched.json()["data"]["isDefault"] is True
    assert await defaults() == ["A"]
    await client.patch(f"{API}/{first['id']}", json={"isDefault": False}, headers=account.headers)
    assert await defaults() == []
    assert second["id"] != first["id"]


async def test_other_accounts_profiles_are_invisible(
    client: httpx.AsyncClient, account: TestAccount, other_account: TestAccount
) -> None:
    pid = (await create(client, account, {"name": "Mine", "type": "local", "isDefault": True}))[
        "data"
    ]["id"]
    theirs = (await create(client, other_account, {"name": "T", "type": "local"}))["data"]["id"]
    for method in ("GET", "PATCH", "DELETE"):
        kwargs: dict[str, Any] = {"json": {"name": "x"}} if method == "PATCH" else {}
        response = await client.request(
            method, f"{API}/{pid}", headers=other_account.headers, **kwargs
        )
        assert response.status_code == 404, method
        assert error_code(response) == "storage_profile_not_found"
    listed = (await client.get(API, headers=other_account.headers)).json()["data"]
    assert [p["id"] for p in listed] == [theirs]
    # making their profile the default leaves ours alone
    await client.patch(f"{API}/{theirs}", json={"isDefault": True}, headers=other_account.headers)
    mine = (await client.get(f"{API}/{pid}", headers=account.headers)).json()["data"]
    assert mine["isDefault"] is True
    missing = await client.get(f"{API}/{new_uuid()}", headers=account.headers)
    assert missing.status_code == 404


async def add_asset(container: Container, owner_id: str, profile_id: str, provider: str) -> str:
    asset_id = new_uuid()
    async with container.db.transaction() as session:
        session.add(
            Asset(
                id=asset_id,
                owner_id=owner_id,
                original_file_name="cat.png",
                stored_file_name=f"{asset_id}.png",
                content_type="image/png",
                size_bytes=3,
                sha256="0" * 64,
                storage_provider=provider,
                storage_profile_id=profile_id,
                storage_key=f"assets/{asset_id}.png",
            )
        )
    return asset_id


async def test_delete_in_use(
    client: httpx.AsyncClient, account: TestAccount, container: Container
) -> None:
    pid = (await create(client, account, {"name": "U", "type": "local", "config": {"path": "u"}}))[
        "data"
    ]["id"]
    asset_id = await add_asset(container, account.account_id, pid, "local")

    response = await client.delete(f"{API}/{pid}", headers=account.headers)
    assert response.status_code == 409
    assert error_code(response) == "storage_profile_in_use"
    # moving the files' location is refused too; renaming is fine
    moved = await client.patch(
        f"{API}/{pid}", json={"config": {"path": "elsewhere"}}, headers=account.headers
    )
    assert moved.status_code == 409 and error_code(moved) == "storage_profile_in_use"
    renamed = await client.patch(f"{API}/{pid}", json={"name": "N"}, headers=account.headers)
    assert renamed.status_code == 200

    async with container.db.transaction() as session:
        asset = await session.get(Asset, asset_id)
        assert asset is not None
        await session.delete(asset)
    response = await client.delete(f"{API}/{pid}", headers=account.headers)
    assert response.status_code == 200
