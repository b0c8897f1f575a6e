"""POST /api/v1/assets: defaults, stored file, sniffed type, every rejection (nothing stored)."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.assets.assets_helpers import (
    API,
    error_code,
    image_bytes,
    png_header,
    stored_files,
    upload,
    upload_ready,
)
from tests.conftest import TestAccount
from worldsmith.core.container import Container


async def test_upload_without_enrichment_is_ready_with_dimensions(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    content = image_bytes("PNG", (40, 30))
    response = await upload(
        client,
        account.headers,
        content,
        description="A fluffy orange kitten",
        altText="Orange cat",
        runEnrichment="false",
    )
    assert response.status_code == 202, response.text
    data = response.json()["data"]
    assert data["status"] == "ready"
    assert (data["width"], data["height"]) == (40, 30)
    assert data["type"] == "image"
    assert data["contentType"] == "image/png"
    assert data["size"] == len(content)
    assert data["sha256"] == hashlib.sha256(content).hexdigest()
    assert data["originalFileName"] == "kitten.png"
    assert data["description"] == "A fluffy orange kitten"
    assert data["altText"] == "Orange cat"
    assert data["isPublic"] is True  # default
    assert data["storageProvider"] == "local"
    assert data["storageProviderProfileId"] is None
    assert data["storedFileName"] == f"{data['id']}.png"
    assert data["publicUrl"].endswith(
        f"/api/v1/assets/public/{data['id']}/{data['storedFileName']}"
    )
    assert data["createdAtUtc"].endswith("Z") and data["updatedAtUtc"].endswith("Z")
    assert data["derivatives"] == [] and data["aiResults"] == []
    assert data["latestSkillExecution"] is None
    files = stored_files(container)
    assert [p.name for p in files] == [data["storedFileName"]]
    assert files[0].read_bytes() == content
    assert files[0].parent.name == data["id"]
    # Scratch space is cleaned up.
    scratch = container.settings.work_dir / "asset-uploads"
    assert not scratch.exists() or not any(scratch.iterdir())


@pytest.mark.no_workers
async def test_upload_with_enrichment_default_is_pending(
    client: httpx.AsyncClient, account: TestAccount
) -> None:
    response = await upload(client, account.headers, image_bytes())
    assert response.status_code == 202, response.text
    data = response.json()["data"]
    assert data["status"] == "pending"
    assert data["latestSkillExecution"]["skillName"] == "basic_image_enrich"
    assert data["latestSkillExecution"]["trigger"] == "upload"


async def test_private_upload_has_no_public_url(
    client: httpx.AsyncClient, account: TestAccount
) -> None:
    data = await upload_ready(client, account.headers, isPublic="false")
    assert data["isPublic"] is False
    assert data["publicUrl"] is None


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [
        ("JPEG", "image/jpeg"),
        ("GIF", "image/gif"),
        ("WEBP", "image/webp"),
        ("BMP", "image/bmp"),
        ("TIFF", "image/tiff"),
        ("AVIF", "image/avif"),
    ],
)
async def test_content_type_is_sniffed_not_claimed(
    client: httpx.AsyncClient, account: TestAccount, fmt: str, mime: str
) -> None:
    # The client claims PNG; the bytes decide.
    data = await upload_ready(client, account.headers, image_bytes(fmt, (16, 8)))
    assert data["contentType"] == mime
    assert (data["width"], data["height"]) == (16, 8)


async def _rejected(
    client: httpx.AsyncClient,
    container: Container,
    account: TestAccount,
    response: httpx.Response,
    status: int,
    code: str,
) -> None:
    assert response.status_code == status, response.text
    assert error_code(response) == code
    assert stored_files(container) == []
    listing = await client.get(API, headers=account.headers)
    assert listing.json()["data"]["totalCount"] == 0
    scratch = container.settings.work_dir / "asset-uploads"
    assert not scratch.exists() or not any(scratch.iterdir())


async def test_file_required(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    response = await upload(client, account.headers, None, description="no file")
    await _rejected(client, container, account, response, 400, "asset_file_required")
    # A text field named "file" is not a file either.
    response = await client.post(API, headers=account.headers, data={"file": "hello"})
    await _rejected(client, container, account, response, 400, "asset_file_required")
    # Nor is a JSON body.
    response = await client.post(API, headers=account.headers, json={"file": "x"})
    await _rejected(client, container, account, response, 400, "asset_file_required")


async def test_file_empty(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    response = await upload(client, account.headers, b"")
    await _rejected(client, container, account, response, 400, "asset_file_empty")


async def test_file_too_large(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    container.settings.assets_max_upload_bytes = 1000
    big = image_bytes("BMP", (100, 100))  # ~30 kB, under the form overhead allowance
    response = await upload(client, account.headers, big)
    await _rejected(client, container, account, response, 413, "asset_file_too_large")
    # A body far past the cap is refused from its Content-Length, before it is read.
    huge = image_bytes("BMP", (300, 300))
    response = await upload(client, account.headers, huge)
    await _rejected(client, container, account, response, 413, "asset_file_too_large")


async def test_content_type_not_allowed(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    response = await upload(client, account.headers, b"just some text, honestly")
    await _rejected(client, container, account, response, 415, "asset_content_type_not_allowed")
    container.settings.assets_allowed_content_types = ["image/png"]
    response = await upload(
        client, account.headers, image_bytes("JPEG"), file_name="a.jpg", content_type="image/jpeg"
    )
    await _rejected(client, container, account, response, 415, "asset_content_type_not_allowed")


async def test_description_and_alt_text_limits(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    response = await upload(client, account.headers, image_bytes(), description="d" * 1001)
    await _rejected(client, container, account, response, 400, "asset_description_too_long")
    response = await upload(client, account.headers, image_bytes(), altText="a" * 1001)
    await _rejected(client, container, account, response, 400, "asset_alt_text_too_long")
    data = await upload_ready(client, account.headers, description="d" * 1000, altText="a" * 1000)
    assert len(data["description"]) == 1000 and len(data["altText"]) == 1000


async def test_decompression_bomb_header(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    response = await upload(client, account.headers, png_header(100_000, 100_000))
    await _rejected(client, container, account, response, 400, "asset_image_too_many_pixels")
    container.settings.assets_max_pixels = 100
    response = await upload(client, account.headers, image_bytes("PNG", (20, 20)))
    await _rejected(client, container, account, response, 400, "asset_image_too_many_pixels")


async def test_undecodable_image(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    truncated = image_bytes("PNG", (64, 64))[:60]
    response = await upload(client, account.headers, truncated)
    await _rejected(client, container, account, response, 400, "asset_image_invalid")
    response = await upload(client, account.headers, png_header(10, 10))
    await _rejected(client, container, account, response, 400, "asset_image_invalid")


async def test_bad_form_values(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    response = await upload(client, account.headers, image_bytes(), isPublic="maybe")
    await _rejected(client, container, account, response, 400, "bad_request")
    assert response.json()["error"]["message"].startswith("isPublic:")
    response = await upload(client, account.headers, image_bytes(), runEnrichment="sometimes")
    await _rejected(client, container, account, response, 400, "bad_request")


async def test_unknown_storage_profile(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    response = await upload(
        client,
        account.headers,
        image_bytes(),
        storageProviderProfileId="01956f8d-0000-7000-8000-000000000001",
    )
    await _rejected(client, container, account, response, 404, "storage_profile_not_found")


async def test_file_name_is_sanitised(client: httpx.AsyncClient, account: TestAccount) -> None:
    data = await upload_ready(client, account.headers)
    assert data["originalFileName"] == "kitten.png"
    response = await upload(
        client, account.headers, image_bytes(), file_name="../../etc/cat.png", runEnrichment="false"
    )
    assert response.json()["data"]["originalFileName"] == "cat.png"


async def test_requires_auth(client: httpx.AsyncClient, container: Container) -> None:
    response = await client.post(API, files={"file": ("a.png", image_bytes(), "image/png")})
    assert response.status_code == 401
    assert error_code(response) == "unauthorized"
    assert stored_files(container) == []
