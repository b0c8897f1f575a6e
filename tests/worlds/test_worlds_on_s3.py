"""The World API with an S3 bucket as its object store (moto, a real S3-protocol server): uploads
go straight to the bucket through presigned PUTs, are finalized when first used, and worlds are
downloaded from the bucket through presigned GETs."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import BASE_URL, TestAccount
from tests.media import jpeg_bytes, noisy_png_bytes, png_bytes
from tests.s3_server import S3Bucket, s3_bucket, s3_server  # noqa: F401
from tests.worlds.helpers import generate, inline_image_request, wait_done
from tests.worlds.test_generate_end_to_end import _check_world
from tests.worlds.test_media_assets_api import prepare, upload_of
from worldsmith.app import create_app
from worldsmith.billing.service import balance_of
from worldsmith.config import Settings
from worldsmith.core.container import Container
from worldsmith.core.models import MediaAsset
from worldsmith.core.storage.s3 import S3ObjectStore

PREFIX = "worlds-test"


@pytest.fixture
def s3_settings(settings: Settings, s3_bucket: S3Bucket) -> Settings:  # noqa: F811
    return settings.model_copy(update=s3_bucket.settings(PREFIX))


@pytest.fixture
async def app(s3_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(s3_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Requests to the app go to it in-process; presigned URLs go to the S3 server over HTTP."""
    mounts = {"http://testserver": httpx.ASGITransport(app=app)}
    async with httpx.AsyncClient(base_url=BASE_URL, timeout=60, mounts=mounts) as http:
        yield http


def _asset_request(asset_id: str) -> dict[str, Any]:
    return {
        "world_prompt": {
            "type": "image",
            "image_prompt": {"source": "media_asset", "media_asset_id": asset_id},
        },
        "model": "Marble 0.1-mini",
    }


async def _asset(container: Container, asset_id: str) -> MediaAsset:
    async with container.db.read() as session:
        asset = await session.get(MediaAsset, asset_id)
    assert asset is not None
    return asset


def _media_keys(bucket: S3Bucket) -> list[str]:
    return [k for k in bucket.keys() if k.startswith(f"{PREFIX}/media-assets/")]


async def test_image_world_from_direct_upload(
    client: httpx.AsyncClient,
    account: TestAccount,
    container: Container,
    s3_bucket: S3Bucket,  # noqa: F811
) -> None:
    assert isinstance(container.store, S3ObjectStore)
    url, headers, asset_id = upload_of(await prepare(client, account, file_name="p.jpg"))
    assert url.startswith(f"{s3_bucket.endpoint_url}/{s3_bucket.name}/{PREFIX}/media-assets/")
    assert "X-Amz-Signature=" in url and headers == {"Content-Type": "image/jpeg"}
    body = jpeg_bytes(320, 240)
    assert (await client.put(url, content=body, headers=headers)).status_code == 200
    upload_key = (await _asset(container, asset_id)).storage_key
    assert (await _asset(container, asset_id)).status == "pending"  # nothing of ours ran yet

    done = await wait_done(
        client, account, (await generate(client, account, _asset_request(asset_id)))["operation_id"]
    )
    assert done["error"] is None, done
    world = done["response"]
    await _check_world(client, world, 1280)  # pano, spz, glb through presigned GETs
    prompt = world["world_prompt"]
    assert prompt["image_prompt"]["extension"] == "jpg"
    assert (await client.get(prompt["image_prompt"]["uri"])).content == body

    # finalized on first use: READY, recorded, and moved to a key no presigned PUT can reach
    asset = await _asset(container, asset_id)
    assert asset.status == "ready" and asset.detected_format == "jpg"
    assert (asset.size_bytes, asset.sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert asset.storage_key != upload_key
    assert _media_keys(s3_bucket) == [f"{PREFIX}/{asset.storage_key}"]
    world_keys = [k for k in s3_bucket.keys() if k.startswith(f"{PREFIX}/worlds/")]
    assert f"{PREFIX}/worlds/{world['world_id']}/pano.png" in world_keys
    assert not (container.settings.objects_dir).exists()  # nothing went to the local folder

    # a READY asset is used as it is, and a late PUT to the old URL changes nothing
    assert (await client.put(url, content=b"garbage", headers=headers)).status_code == 200
    again = await generate(client, account, _asset_request(asset_id))
    assert (await wait_done(client, account, again["operation_id"]))["error"] is None
    assert (await _asset(container, asset_id)).sha256 == asset.sha256


async def test_inline_input_on_s3(client: httpx.AsyncClient, account: TestAccount) -> None:
    body = inline_image_request(png_bytes(96, 64), seed=5)
    done = await wait_done(client, account, (await generate(client, account, body))["operation_id"])
    assert done["error"] is None, done
    assert (await client.get(done["response"]["world_prompt"]["image_prompt"]["uri"])).content


@pytest.mark.no_workers
async def test_garbage_upload_rejected_then_retried(
    client: httpx.AsyncClient,
    account: TestAccount,
    container: Container,
    s3_bucket: S3Bucket,  # noqa: F811
) -> None:
    async with container.db.read() as session:
        before = await balance_of(session, account.account_id)
    url, headers, asset_id = upload_of(await prepare(client, account))
    garbage = b"hello, this is text and not a picture at all"
    assert (await client.put(url, content=garbage, headers=headers)).status_code == 200
    assert len(_media_keys(s3_bucket)) == 1

    err = await generate(client, account, _asset_request(asset_id), status=400)
    assert err["detail"].startswith("world_prompt.image_prompt: upload rejected: "), err
    assert _media_keys(s3_bucket) == []  # the rejected object is deleted
    assert (await _asset(container, asset_id)).status == "pending"
    async with container.db.read() as session:
        assert await balance_of(session, account.account_id) == before  # nothing charged

    # the asset stays usable: the same URL takes a good file
    assert (await client.put(url, content=png_bytes(), headers=headers)).status_code == 200
    await generate(client, account, _asset_request(asset_id))
    assert (await _asset(container, asset_id)).status == "ready"


@pytest.mark.no_workers
async def test_oversize_upload_rejected(
    client: httpx.AsyncClient,
    account: TestAccount,
    container: Container,
    s3_bucket: S3Bucket,  # noqa: F811
) -> None:
    """A presigned PUT cannot cap the size; finalizing checks it before downloading."""
    url, headers, asset_id = upload_of(await prepare(client, account))
    big = noisy_png_bytes(200, 200)
    container.settings.max_image_bytes = len(big) - 1
    assert (await client.put(url, content=big, headers=headers)).status_code == 200
    err = await generate(client, account, _asset_request(asset_id), status=400)
    assert "upload rejected: the file is" in err["detail"] and "the limit is" in err["detail"]
    assert _media_keys(s3_bucket) == []


@pytest.mark.no_workers
async def test_never_uploaded(client: httpx.AsyncClient, account: TestAccount) -> None:
    _, _, asset_id = upload_of(await prepare(client, account))
    err = await generate(client, account, _asset_request(asset_id), status=400)
    assert "no uploaded file yet" in err["detail"]


@pytest.mark.no_workers
async def test_concurrent_first_uses(
    client: httpx.AsyncClient,
    account: TestAccount,
    container: Container,
    s3_bucket: S3Bucket,  # noqa: F811
) -> None:
    """Two requests finalizing the same asset at once both succeed and agree on one copy."""
    url, headers, asset_id = upload_of(await prepare(client, account))
    assert (await client.put(url, content=png_bytes(), headers=headers)).status_code == 200
    ops = await asyncio.gather(*(generate(client, account, _asset_request(asset_id)) for _ in "ab"))
    assert len({op["operation_id"] for op in ops}) == 2
    asset = await _asset(container, asset_id)
    assert asset.status == "ready"
    assert _media_keys(s3_bucket) == [f"{PREFIX}/{asset.storage_key}"]


@pytest.mark.no_workers
async def test_local_object_routes_are_off(client: httpx.AsyncClient) -> None:
    path = "/storage/v1/objects/media-assets/x/y.png?expires=9999999999&signature=abc"
    assert (await client.get(path)).status_code == 404
    put = await client.put(path + "&method=PUT&max_bytes=10", content=b"x")
    assert put.status_code == 404 and put.json()["detail"] == "no such object"
