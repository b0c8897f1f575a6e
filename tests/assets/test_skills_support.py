"""Helpers for the skills tests (no tests here): assets made straight through the models, with
their file put in the container's store, and small real images."""

from __future__ import annotations

import hashlib
import io
import tempfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from tests.conftest import TestAccount
from worldsmith.core.container import Container
from worldsmith.core.ids import new_uuid
from worldsmith.core.models.asset import Asset

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def scene(width: int = 320, height: int = 240, seed: int = 0) -> Image.Image:
    """A smooth, photo-like picture: gradients with a few soft blobs."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.zeros((height, width, 3))
    img[..., 0] = 60 + 150 * x / width
    img[..., 1] = 90 + 80 * y / height
    img[..., 2] = 170 - 100 * y / height
    for _ in range(4):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(20, 60)
        blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius**2))
        img += blob[..., None] * rng.uniform(-80, 80, 3)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def encode(image: Image.Image, fmt: str = "PNG", **kwargs: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


async def make_asset(
    container: Container,
    owner_id: str,
    data: bytes,
    content_type: str = "image/png",
    name: str = "picture.png",
    **columns: Any,
) -> str:
    asset_id = new_uuid()
    ext = EXTENSIONS.get(content_type, "bin")
    key = f"assets/{asset_id}/original.{ext}"
    with tempfile.TemporaryDirectory() as scratch:
        src = Path(scratch) / f"upload.{ext}"
        src.write_bytes(data)
        await container.store.put_file(key, src, content_type)
    async with container.db.transaction() as session:
        session.add(
            Asset(
                id=asset_id,
                owner_id=owner_id,
                type="image",
                status="pending",
                original_file_name=name,
                stored_file_name=f"original.{ext}",
                content_type=content_type,
                size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                is_public=True,
                storage_provider="local",
                storage_key=key,
                **columns,
            )
        )
    return asset_id


async def run_skill(
    client: httpx.AsyncClient,
    account: TestAccount,
    asset_id: str,
    skill: str,
    body: Any = None,
) -> httpx.Response:
    url = f"/api/v1/assets/{asset_id}/skills/{skill}/run"
    if body is None:
        return await client.post(url, headers=account.headers)
    return await client.post(url, headers=account.headers, json=body)


def steps_of(response: httpx.Response) -> list[tuple[str, bool]]:
    return [(s["stepName"], s["succeeded"]) for s in response.json()["data"]["steps"]]


def ai_payload(asset: dict[str, Any], kind: str) -> dict[str, Any]:
    import json

    for result in asset["aiResults"]:
        if result["kind"] == kind:
            payload: dict[str, Any] = json.loads(result["payloadJson"])
            return payload
    raise AssertionError(f"no AI result {kind!r} in {asset['aiResults']}")


def derivative(asset: dict[str, Any], kind: str) -> dict[str, Any]:
    for item in asset["derivatives"]:
        if item["kind"] == kind:
            found: dict[str, Any] = item
            return found
    raise AssertionError(f"no derivative {kind!r} in {asset['derivatives']}")
