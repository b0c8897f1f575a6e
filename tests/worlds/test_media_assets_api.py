"""prepare_upload, the signed PUT, and reading media assets back."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.conftest import TestAccount
from tests.media import jpeg_bytes, mp4_bytes, png_bytes
from tests.openapi_schema import assert_matches
from worldsmith.core.container import Container
from worldsmith.core.storage.local import LocalObjectStore


async def prepare(
    client: httpx.AsyncClient, account: TestAccount, **body: object
) -> dict[str, object]:
    payload = {"file_name": "scene.png", "kind": "image", **body}
    resp = await client.post(
        "/marble/v1/media-assets:prepare_upload", json=payload, headers=account.headers
    )
    assert resp.status_code == 200, resp.text
    data: dict[str, object] = resp.json()
    assert_matches(data, "MediaAssetPrepareUploadResponse")
    return data


def upload_of(prepared: dict[str, object]) -> tuple[str, dict[str, str], str]:
    info = prepared["upload_info"]
    assert isinstance(info, dict)
    asset = prepared["media_asset"]
    assert isinstance(asset, dict)
    return info["upload_url"], info["required_headers"], asset["media_asset_id"]


async def test_prepare_put_and_get(client: httpx.AsyncClient, account: TestAccount) -> None:
    prepared = await prepare(client, account, metadata={"shot": 3})
    url, headers, asset_id = upload_of(prepared)
    info = prepared["upload_info"]
    assert isinstance(info, dict)
    assert info["upload_method"] == "PUT"
    assert headers == {"Content-Type": "image/png"}
    assert "curl" in info["curl_example"] and "Content-Type: image/png" in info["curl_example"]

    body = png_bytes()
    put = await client.put(url, content=body, headers=headers)
    assert put.status_code == 200, put.text

    got = await client.get(f"/marble/v1/media-assets/{asset_id}", headers=account.headers)
    assert got.status_code == 200
    assert_matches(got.json(), "MediaAsset")
    assert got.json()["metadata"] == {"shot": 3}
    assert got.json()["extension"] == "png"


async def test_video_upload(client: httpx.AsyncClient, account: TestAccount) -> None:
    prepared = await prepare(client, account, file_name="walk.mp4", kind="video")
    url, headers, _ = upload_of(prepared)
    assert headers["Content-Type"] == "video/mp4"
    put = await client.put(url, content=mp4_bytes(), headers=headers)
    assert put.status_code == 200, put.text


async def test_prepare_rejects_bad_extension(
    client: httpx.AsyncClient, account: TestAccount
) -> None:
    for body in (
        {"file_name": "notes.txt", "kind": "image"},
        {"file_name": "clip", "kind": "video"},
        {"file_name": "x.png", "kind": "video"},
    ):
        resp = await client.post(
            "/marble/v1/media-assets:prepare_upload", json=body, headers=account.headers
        )
        assert resp.status_code == 400, body
        assert isinstance(resp.json()["detail"], str)
    resp = await client.post(
        "/marble/v1/media-assets:prepare_upload",
        json={"file_name": "x.png", "kind": "sound"},
        headers=account.headers,
    )
    assert resp.status_code == 422
    assert_matches(resp.json(), "HTTPValidationError")


async def test_media_asset_is_private(
    client: httpx.AsyncClient, account: TestAccount, other_account: TestAccount
) -> None:
    _, _, asset_id = upload_of(await prepare(client, account))
    resp = await client.get(f"/marble/v1/media-assets/{asset_id}", headers=other_account.headers)
    assert resp.status_code == 404
    missing = await client.get("/marble/v1/media-assets/nope", headers=account.headers)
    assert missing.status_code == 404


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}"


def _local_store(container: Container) -> LocalObjectStore:
    store = container.store
    assert isinstance(store, LocalObjectStore)  # these tests run on the default local store
    return store


async def _stored_objects(container: Container) -> list[str]:
    root = _local_store(container).root
    return [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and ".incoming" not in p.parts
    ]


async def test_signed_url_rules(
    client: httpx.AsyncClient, account: TestAccount, container: Container
) -> None:
    url, headers, _ = upload_of(await prepare(client, account))
    body = png_bytes()
    tampered = _with(url, max_bytes="999999999")
    assert (await client.put(tampered, content=body, headers=headers)).status_code == 403
    expired = _with(url, expires="1000")
    resp = await client.put(expired, content=body, headers=headers)
    assert resp.status_code == 403 and "signature" in resp.json()["detail"]
    wrong_type = await client.put(url, content=body, headers={"Content-Type": "image/jpeg"})
    assert wrong_type.status_code == 403
    wrong_method = await client.get(url)
    assert wrong_method.status_code == 403
    assert "not GET" in wrong_method.json()["detail"]
    assert await _stored_objects(container) == []


async def test_signed_url_expiry_is_enforced(
    container: Container, client: httpx.AsyncClient
) -> None:
    upload = container.store.presign_upload(
        "bench/x.bin", content_type="application/octet-stream", max_bytes=10, expires_in=-5
    )
    resp = await client.put(upload.url, content=b"abc", headers=upload.headers)
    assert resp.status_code == 403
    assert "expired" in resp.json()["detail"]


async def test_oversize_upload_rejected(container: Container, client: httpx.AsyncClient) -> None:
    upload = container.store.presign_upload(
        "bench/small.bin", content_type="application/octet-stream", max_bytes=1000, expires_in=60
    )
    too_big = b"x" * 5000
    resp = await client.put(upload.url, content=too_big, headers=upload.headers)
    assert resp.status_code == 413

    async def stream():  # no Content-Length: the cap must hold while streaming
        for _ in range(5):
            yield b"y" * 1000

    resp = await client.put(upload.url, content=stream(), headers=upload.headers)
    assert resp.status_code == 413
    assert await _stored_objects(container) == []
    ok = await client.put(upload.url, content=b"z" * 1000, headers=upload.headers)
    assert ok.status_code == 200
    assert (_local_store(container).root / "bench/small.bin").read_bytes() == b"z" * 1000


async def test_bad_media_rejected_and_nothing_stored(
    client: httpx.AsyncClient, account: TestAccount, container: Container
) -> None:
    good = png_bytes()
    cases = {
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "not an image": b"hello, this is text and not a picture at all",
        "video as image": mp4_bytes(),
    }
    for label, payload in cases.items():
        url, headers, asset_id = upload_of(await prepare(client, account))
        resp = await client.put(url, content=payload, headers=headers)
        assert resp.status_code == 400, (label, resp.text)
        assert resp.json()["detail"].startswith("upload rejected"), label
        gen = await client.post(
            "/marble/v1/worlds:generate",
            json={
                "world_prompt": {
                    "type": "image",
                    "image_prompt": {"source": "media_asset", "media_asset_id": asset_id},
                },
                "model": "Marble 0.1-mini",
            },
            headers=account.headers,
        )
        assert gen.status_code == 400 and "no uploaded file" in gen.json()["detail"], label
    assert await _stored_objects(container) == []
    jpeg_url, _, _ = upload_of(await prepare(client, account, file_name="a.jpg"))
    resp = await client.put(jpeg_url, content=jpeg_bytes(), headers={"Content-Type": "image/jpeg"})
    assert resp.status_code == 200


async def test_download_urls_are_signed(container: Container, client: httpx.AsyncClient) -> None:
    upload = container.store.presign_upload(
        "bench/data.bin", content_type="application/octet-stream", max_bytes=100, expires_in=60
    )
    assert (
        await client.put(upload.url, content=b"0123456789", headers=upload.headers)
    ).status_code == 200
    url = container.store.download_url("bench/data.bin", expires_in=60)
    got = await client.get(url)
    assert got.status_code == 200 and got.content == b"0123456789"
    ranged = await client.get(url, headers={"Range": "bytes=2-4"})
    assert ranged.status_code == 206 and ranged.content == b"234"
    assert (await client.get(_with(url, signature="AAAA"))).status_code == 403
    assert (await client.put(url, content=b"x")).status_code in (403, 422)
