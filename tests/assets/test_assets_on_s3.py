"""The Assets API with files in an S3 bucket (a storage profile on the test S3 server):
upload, enrichment, detail, content for private and public assets, delete."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.assets.assets_helpers import API, image_bytes, upload
from tests.assets.test_storage_profiles_resolve import s3_config
from tests.conftest import TestAccount
from tests.s3_server import S3Bucket, s3_bucket, s3_server  # noqa: F401


async def _wait_ready(client: httpx.AsyncClient, headers: dict[str, str], asset_id: str) -> Any:
    for _ in range(400):
        detail = (await client.get(f"{API}/{asset_id}", headers=headers)).json()["data"]
        if detail["status"] in ("ready", "failed"):
            return detail
        await asyncio.sleep(0.05)
    raise AssertionError(f"asset {asset_id} never finished processing")


async def test_asset_lifecycle_on_s3(
    client: httpx.AsyncClient,
    account: TestAccount,
    s3_bucket: S3Bucket,  # noqa: F811
) -> None:
    headers = {"Authorization": f"Bearer {account.api_key}"}
    made = await client.post(
        "/api/v1/storage-profiles",
        json={"name": "bucket", "type": "s3", "config": s3_config(s3_bucket, "media")},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    profile_id = made.json()["data"]["id"]
    picture = image_bytes(size=(400, 300), color="navy")

    private = await upload(
        client, headers, picture, storageProviderProfileId=profile_id, isPublic="false"
    )
    assert private.status_code == 202, private.text
    created = private.json()["data"]
    assert created["storageProvider"] == "s3"
    assert created["storageProviderProfileId"] == profile_id
    detail = await _wait_ready(client, headers, created["id"])
    assert detail["status"] == "ready" and (detail["width"], detail["height"]) == (400, 300)
    assert {d["kind"] for d in detail["derivatives"]} >= {"thumbnail"}
    keys = s3_bucket.keys()
    assert any(k.startswith("media/") and k.endswith(".png") for k in keys), keys
    assert any("derivatives/thumbnail" in k for k in keys), keys

    content = await client.get(f"{API}/{created['id']}/content", headers=headers)
    assert content.status_code == 200 and content.content == picture
    ranged = await client.get(
        f"{API}/{created['id']}/content", headers={**headers, "Range": "bytes=0-7"}
    )
    assert ranged.status_code == 206 and ranged.content == picture[:8]

    public = await upload(
        client, headers, picture, storageProviderProfileId=profile_id, runEnrichment="false"
    )
    public_id = public.json()["data"]["id"]
    redirect = await client.get(f"{API}/{public_id}/content", headers=headers)
    assert redirect.status_code == 307
    followed = await client.get(redirect.headers["location"])
    assert followed.status_code == 200 and followed.content == picture

    for asset_id in (created["id"], public_id):
        gone = await client.delete(f"{API}/{asset_id}", headers=headers)
        assert gone.status_code == 200, gone.text
    assert [k for k in s3_bucket.keys() if k.startswith("media/")] == []
