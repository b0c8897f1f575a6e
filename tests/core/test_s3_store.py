"""The S3 object store against a real S3-protocol server (moto), and choosing a store.

moto accepts presigned URLs without checking their signature or expiry, so those properties
are not (and cannot be) tested here; they are tested on the local store, whose signed URLs
are ours (tests/worlds/test_media_assets_api.py). What is tested here is that our URLs are the
right requests: the right method, key, and signed Content-Type.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.s3_server import S3Bucket, s3_bucket, s3_server  # noqa: F401
from worldsmith.config import Settings
from worldsmith.core.security import UrlSigner
from worldsmith.core.storage.base import ObjectStore
from worldsmith.core.storage.factory import build_store
from worldsmith.core.storage.local import LocalObjectStore
from worldsmith.core.storage.s3 import S3ObjectStore

PREFIX = "store-test/v1"
SIGNER = UrlSigner(b"test-secret-key")


def _settings(tmp_path: Path, **fields: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", secret_key="test-secret-key", **fields)


def _store(tmp_path: Path, bucket: S3Bucket, **extra: Any) -> S3ObjectStore:
    store = build_store(_settings(tmp_path, **bucket.settings(PREFIX), **extra), SIGNER)
    assert isinstance(store, S3ObjectStore)
    return store


async def test_round_trip(tmp_path: Path, s3_bucket: S3Bucket) -> None:  # noqa: F811
    store: ObjectStore = _store(tmp_path, s3_bucket)
    data = os.urandom(300_000)
    src = tmp_path / "src.bin"
    src.write_bytes(data)

    stored = await store.put_file("worlds/w1/pano.png", src, "image/png")
    assert stored.key == "worlds/w1/pano.png"
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert await store.exists("worlds/w1/pano.png")
    assert await store.stat("worlds/w1/pano.png") == len(data)
    assert not await store.exists("worlds/w1/other.png")
    assert await store.stat("worlds/w1/other.png") is None
    # keys live under the URL's prefix, with the content type given
    assert s3_bucket.keys() == [f"{PREFIX}/worlds/w1/pano.png"]
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=f"{PREFIX}/worlds/w1/pano.png")
    assert head["ContentType"] == "image/png"

    scratch = tmp_path / "job" / "attempt-1"
    path = await store.materialize("worlds/w1/pano.png", scratch)
    assert path.is_absolute() and path.is_relative_to(scratch.resolve())
    assert path.suffix == ".png"
    assert path.read_bytes() == data
    assert [p.name for p in path.parent.iterdir()] == ["pano.png"]  # no partial file left

    await store.delete("worlds/w1/pano.png")
    assert not await store.exists("worlds/w1/pano.png")
    assert s3_bucket.keys() == []
    await store.delete("worlds/w1/pano.png")  # deleting what is gone is fine
    with pytest.raises(FileNotFoundError):
        await store.materialize("worlds/w1/pano.png", scratch)


async def test_multipart_upload_hash(tmp_path: Path, s3_bucket: S3Bucket) -> None:  # noqa: F811
    """Past boto3's multipart threshold (8 MiB) the file goes up in parts; the digest must
    still cover every byte once, in order."""
    store = _store(tmp_path, s3_bucket)
    data = os.urandom(9 * 1024 * 1024 + 123)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    stored = await store.put_file("big/x.bin", src, "application/octet-stream")
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert s3_bucket.read(f"{PREFIX}/big/x.bin") == data


async def test_download_url(tmp_path: Path, s3_bucket: S3Bucket) -> None:  # noqa: F811
    store = _store(tmp_path, s3_bucket)
    src = tmp_path / "t.jpg"
    src.write_bytes(b"0123456789")
    await store.put_file("worlds/w2/thumb.jpg", src, "image/jpeg")
    url = store.download_url("worlds/w2/thumb.jpg", expires_in=600)
    parts = urlsplit(url)
    assert url.startswith(f"{s3_bucket.endpoint_url}/{s3_bucket.name}/{PREFIX}/")  # path style
    query = parse_qs(parts.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["600"]
    async with httpx.AsyncClient() as http:
        got = await http.get(url)
    assert got.status_code == 200 and got.content == b"0123456789"
    assert got.headers["content-type"] == "image/jpeg"


async def test_public_base_url(tmp_path: Path, s3_bucket: S3Bucket) -> None:  # noqa: F811
    store = _store(tmp_path, s3_bucket, s3_public_base_url="https://cdn.example.com/assets/")
    url = store.download_url("worlds/w3/pano.png", expires_in=600)
    assert url == f"https://cdn.example.com/assets/{PREFIX}/worlds/w3/pano.png"


async def test_presigned_put(tmp_path: Path, s3_bucket: S3Bucket) -> None:  # noqa: F811
    store = _store(tmp_path, s3_bucket)
    upload = store.presign_upload(
        "media-assets/a1/x.png", content_type="image/png", max_bytes=1000, expires_in=600
    )
    assert upload.method == "PUT"
    assert upload.headers == {"Content-Type": "image/png"}
    query = parse_qs(urlsplit(upload.url).query)
    assert "content-type" in query["X-Amz-SignedHeaders"][0].split(";")
    async with httpx.AsyncClient() as http:
        resp = await http.put(upload.url, content=b"png bytes", headers=upload.headers)
    assert resp.status_code == 200, resp.text
    assert s3_bucket.keys() == [f"{PREFIX}/media-assets/a1/x.png"]
    assert await store.stat("media-assets/a1/x.png") == len(b"png bytes")
    head = s3_bucket.client.head_object(
        Bucket=s3_bucket.name, Key=f"{PREFIX}/media-assets/a1/x.png"
    )
    assert head["ContentType"] == "image/png"


async def test_bad_keys_rejected(tmp_path: Path, s3_bucket: S3Bucket) -> None:  # noqa: F811
    store = _store(tmp_path, s3_bucket)
    for key in ("../escape", "/abs", "a//b", ""):
        with pytest.raises(ValueError):
            store.download_url(key, expires_in=60)


def test_factory_picks_the_store(tmp_path: Path, s3_bucket: S3Bucket) -> None:  # noqa: F811
    local = build_store(_settings(tmp_path), SIGNER)
    assert isinstance(local, LocalObjectStore)
    assert local.root == (tmp_path / "data" / "objects").resolve()

    elsewhere = tmp_path / "shared"
    as_file = build_store(_settings(tmp_path, storage_url=f"file://{elsewhere}"), SIGNER)
    assert isinstance(as_file, LocalObjectStore) and as_file.root == elsewhere.resolve()

    s3 = _store(tmp_path, s3_bucket)
    assert (s3.bucket, s3.prefix) == (s3_bucket.name, PREFIX)
    bare = build_store(
        _settings(tmp_path, **{**s3_bucket.settings(""), "storage_url": f"s3://{s3_bucket.name}"}),
        SIGNER,
    )
    assert isinstance(bare, S3ObjectStore) and bare.object_key("a/b") == "a/b"


@pytest.mark.parametrize(
    "url",
    ["ftp://x", "s3://", "s3:///prefix", "s3://bucket/../up", "file://host/path", "gs://b/p"],
)
def test_factory_rejects(tmp_path: Path, s3_bucket: S3Bucket, url: str) -> None:  # noqa: F811
    fields = {**s3_bucket.settings(""), "storage_url": url}
    with pytest.raises(ValueError, match="storage_url"):
        build_store(_settings(tmp_path, **fields), SIGNER)


def test_partial_credentials_rejected(tmp_path: Path, s3_bucket: S3Bucket) -> None:  # noqa: F811
    fields = {**s3_bucket.settings("p"), "s3_secret_access_key": None}
    with pytest.raises(ValueError, match="S3_ACCESS_KEY_ID"):
        build_store(_settings(tmp_path, **fields), SIGNER)
