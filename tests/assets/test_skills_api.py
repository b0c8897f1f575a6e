"""The skills endpoints end to end: real app, real database, real store, real worker."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.assets.test_skills_support import (
    ai_payload,
    derivative,
    encode,
    make_asset,
    run_skill,
    scene,
    steps_of,
)
from tests.conftest import TestAccount
from worldsmith.assets.skills import catalog, imaging, service
from worldsmith.core.container import Container
from worldsmith.core.models import Job
from worldsmith.core.models.asset import Asset, AssetDerivative, SkillExecution


async def _stored_bytes(container: Container, key: str, tmp_path: Any) -> bytes:
    path = await container.store.materialize(key, tmp_path)
    return path.read_bytes()


async def test_list_skills(client: httpx.AsyncClient, account: TestAccount) -> None:
    response = await client.get("/api/v1/assets/skills", headers=account.headers)
    assert response.status_code == 200
    skills = {s["name"]: s for s in response.json()["data"]}
    assert set(skills) == {
        "basic_image_enrich",
        "alt-text",
        "exif-strip",
        "format-convert",
        "watermark",
        "dominant-colors",
        "perceptual-hash",
    }
    assert skills["basic_image_enrich"]["steps"] == ["decode", "thumbnail", "caption"]
    assert skills["format-convert"]["parameters"]["format"]["enum"] == [
        "webp",
        "png",
        "jpg",
        "avif",
    ]
    assert "description" in skills["watermark"]["parameters"]["opacity"]
    assert all(s["description"] for s in skills.values())


async def test_skills_need_an_api_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/assets/skills")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_basic_image_enrich(
    client: httpx.AsyncClient, container: Container, account: TestAccount, tmp_path: Any
) -> None:
    asset_id = await make_asset(container, account.account_id, encode(scene(640, 400)))
    response = await run_skill(client, account, asset_id, "basic_image_enrich")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["succeeded"] is True
    assert data["skillName"] == "basic_image_enrich"
    assert steps_of(response) == [("decode", True), ("thumbnail", True), ("caption", True)]
    asset = data["asset"]
    assert asset["id"] == asset_id
    assert asset["status"] == "ready"
    assert (asset["width"], asset["height"]) == (640, 400)
    thumb = derivative(asset, "thumbnail")
    assert (thumb["width"], thumb["height"]) == (256, 160)
    assert thumb["contentType"] == "image/webp"
    async with container.db.read() as session:
        row = await session.scalar(
            select(AssetDerivative).where(AssetDerivative.asset_id == asset_id)
        )
        assert row is not None
        stored = await _stored_bytes(container, row.storage_key, tmp_path)
    assert len(stored) == thumb["size"]
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "WEBP" and image.size == (256, 160)
    caption = ai_payload(asset, "caption")
    assert caption["source"] == "builtin"
    assert caption["text"].startswith("A landscape image (640×400 px)")
    assert caption["analysis"]["appearsToContainText"] is False


async def test_run_accepts_a_bare_parameters_object(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    asset_id = await make_asset(container, account.account_id, encode(scene()))
    response = await run_skill(client, account, asset_id, "format-convert", {"format": "png"})
    assert response.status_code == 200, response.text
    derivative(response.json()["data"]["asset"], "format-png")


async def test_unknown_skill_and_asset(
    client: httpx.AsyncClient,
    container: Container,
    account: TestAccount,
    other_account: TestAccount,
) -> None:
    asset_id = await make_asset(container, account.account_id, encode(scene()))
    response = await run_skill(client, account, asset_id, "levitate")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "skill_not_found"
    missing = "01956f8d-88e4-7c6a-a8f1-5f235293db7a"
    response = await run_skill(client, account, missing, "basic_image_enrich")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "asset_not_found"
    response = await run_skill(client, other_account, asset_id, "basic_image_enrich")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "asset_not_found"


@pytest.mark.parametrize(
    ("skill", "body"),
    [
        ("format-convert", {"parameters": {"format": "bmp"}}),
        ("format-convert", {"parameters": {"format": 3}}),
        ("watermark", {"parameters": {"text": "x", "opacity": 2}}),
        ("watermark", {"parameters": {"text": "x", "position": "middle"}}),
        ("watermark", {"parameters": {}}),
        ("watermark", {"parameters": {"text": "x", "image": "AAAA"}}),
        ("dominant-colors", {"parameters": {"count": 0}}),
        ("basic_image_enrich", {"parameters": {"colour": "red"}}),
        ("basic_image_enrich", {"parameters": [1, 2]}),
        ("basic_image_enrich", [1, 2]),
    ],
)
async def test_bad_parameters(
    client: httpx.AsyncClient,
    container: Container,
    account: TestAccount,
    skill: str,
    body: Any,
) -> None:
    asset_id = await make_asset(container, account.account_id, encode(scene()))
    response = await run_skill(client, account, asset_id, skill, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "skill_parameters_invalid"
    async with container.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(SkillExecution)) == 0


async def test_format_convert_every_format(
    client: httpx.AsyncClient, container: Container, account: TestAccount, tmp_path: Any
) -> None:
    asset_id = await make_asset(container, account.account_id, encode(scene(200, 120)))
    expected = {"webp": "WEBP", "png": "PNG", "jpg": "JPEG", "avif": "AVIF"}
    for fmt, pil_format in expected.items():
        response = await run_skill(
            client, account, asset_id, "format-convert", {"parameters": {"format": fmt}}
        )
        if fmt == "avif" and not imaging.avif_supported():
            assert response.status_code == 400
            assert "AVIF" in response.json()["error"]["message"]
            continue
        assert response.status_code == 200, response.text
        item = derivative(response.json()["data"]["asset"], f"format-{fmt}")
        assert (item["width"], item["height"]) == (200, 120)
        key = service.derivative_key(asset_id, f"format-{fmt}", item["extension"])
        with Image.open(io.BytesIO(await _stored_bytes(container, key, tmp_path))) as image:
            assert image.format == pil_format


async def test_watermark_text(
    client: httpx.AsyncClient, container: Container, account: TestAccount, tmp_path: Any
) -> None:
    original = Image.new("RGB", (400, 300), (30, 60, 90))
    asset_id = await make_asset(container, account.account_id, encode(original))
    body = {"parameters": {"text": "© worldsmith", "position": "bottom-right", "opacity": 1}}
    response = await run_skill(client, account, asset_id, "watermark", body)
    assert response.status_code == 200, response.text
    assert steps_of(response) == [("decode", True), ("watermark", True)]
    item = derivative(response.json()["data"]["asset"], "watermarked")
    key = service.derivative_key(asset_id, "watermarked", item["extension"])
    with Image.open(io.BytesIO(await _stored_bytes(container, key, tmp_path))) as image:
        marked = np.asarray(image.convert("RGB"), dtype=np.int16)
    diff = np.abs(marked - np.array([30, 60, 90])).sum(axis=2) > 30
    assert diff[200:, 250:].any()  # the stamp is in the bottom-right corner
    assert not diff[:100, :150].any()  # and nowhere near the top-left


async def test_watermark_image_with_opacity(
    client: httpx.AsyncClient, container: Container, account: TestAccount, tmp_path: Any
) -> None:
    original = Image.new("RGB", (400, 300), (0, 0, 0))
    asset_id = await make_asset(container, account.account_id, encode(original))
    mark = base64.b64encode(encode(Image.new("RGBA", (50, 50), (255, 255, 255, 255)))).decode()
    body = {"parameters": {"image": mark, "position": "top-left", "opacity": 0.5}}
    response = await run_skill(client, account, asset_id, "watermark", body)
    assert response.status_code == 200, response.text
    item = derivative(response.json()["data"]["asset"], "watermarked")
    key = service.derivative_key(asset_id, "watermarked", item["extension"])
    with Image.open(io.BytesIO(await _stored_bytes(container, key, tmp_path))) as image:
        pixels = np.asarray(image.convert("RGB"))
    corner = pixels[20, 20]
    assert 110 <= int(corner[0]) <= 145  # white at 50 % over black
    assert pixels[200, 300].tolist() == [0, 0, 0]


async def test_invalid_watermark_image_fails_only_its_step(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    asset_id = await make_asset(container, account.account_id, encode(scene()))
    bogus = base64.b64encode(b"definitely not a png").decode()
    response = await run_skill(
        client, account, asset_id, "watermark", {"parameters": {"image": bogus}}
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["succeeded"] is False
    assert steps_of(response) == [("decode", True), ("watermark", False)]
    assert "PNG" in data["steps"][1]["errorMessage"]
    assert data["asset"]["status"] == "ready"  # the image itself is fine
    assert data["asset"]["derivatives"] == []
    async with container.db.read() as session:
        execution = await session.scalar(select(SkillExecution))
        assert execution is not None
        assert execution.succeeded is False and execution.completed_at is not None


async def test_a_failing_step_does_not_stop_the_next(
    client: httpx.AsyncClient,
    container: Container,
    account: TestAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def explode(state: service.RunState) -> str | None:
        raise service.StepFailed("boom")

    monkeypatch.setitem(service.STEPS, "explode", explode)
    monkeypatch.setitem(
        catalog.SKILLS,
        "test-broken",
        catalog.Skill("test-broken", "test", ("decode", "explode", "dominant-colors")),
    )
    asset_id = await make_asset(container, account.account_id, encode(scene()))
    response = await run_skill(client, account, asset_id, "test-broken")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["succeeded"] is False
    assert steps_of(response) == [("decode", True), ("explode", False), ("dominant-colors", True)]
    assert data["steps"][1]["errorMessage"] == "boom"
    assert ai_payload(data["asset"], "dominant-colors")["colors"]


async def test_undecodable_file_fails_the_asset(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    asset_id = await make_asset(container, account.account_id, b"\x89PNG\r\n\x1a\nbroken")
    response = await run_skill(client, account, asset_id, "basic_image_enrich")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["succeeded"] is False
    assert steps_of(response) == [("decode", False), ("thumbnail", False), ("caption", False)]
    assert "skipped" in data["steps"][1]["errorMessage"]
    assert data["asset"]["status"] == "failed"


async def test_exif_strip(
    client: httpx.AsyncClient, container: Container, account: TestAccount, tmp_path: Any
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8298] = "someone"  # Copyright
    data = encode(scene(300, 200), "JPEG", exif=exif.tobytes(), quality=90)
    asset_id = await make_asset(container, account.account_id, data, "image/jpeg", "photo.jpg")
    response = await run_skill(client, account, asset_id, "exif-strip")
    assert response.status_code == 200, response.text
    asset = response.json()["data"]["asset"]
    assert (asset["width"], asset["height"]) == (200, 300)  # orientation applied
    async with container.db.read() as session:
        row = await session.get(Asset, asset_id)
        assert row is not None
        stored = await _stored_bytes(container, row.storage_key, tmp_path)
    assert asset["sha256"] == hashlib.sha256(stored).hexdigest() != hashlib.sha256(data).hexdigest()
    assert asset["size"] == len(stored)
    assert b"SecretCam" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert image.size == (200, 300)
        assert not image.getexif()


async def test_dominant_colors(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    pixels = np.zeros((100, 200, 3), dtype=np.uint8)
    pixels[:, :140] = (220, 20, 20)
    pixels[:, 140:] = (30, 60, 210)
    asset_id = await make_asset(container, account.account_id, encode(Image.fromarray(pixels)))
    response = await run_skill(
        client, account, asset_id, "dominant-colors", {"parameters": {"count": 3}}
    )
    assert response.status_code == 200, response.text
    colors = ai_payload(response.json()["data"]["asset"], "dominant-colors")["colors"]
    assert [c["name"] for c in colors] == ["red", "blue"]
    assert colors[0]["hex"] == "#dc1414"
    assert colors[0]["proportion"] == pytest.approx(0.7, abs=0.02)
    assert sum(c["proportion"] for c in colors) == pytest.approx(1.0, abs=0.001)


async def test_perceptual_hash_finds_near_duplicates(
    client: httpx.AsyncClient,
    container: Container,
    account: TestAccount,
    other_account: TestAccount,
) -> None:
    picture = scene(400, 300, seed=3)
    first = await make_asset(container, account.account_id, encode(picture))
    # The same picture, smaller and re-encoded as a JPEG: a near duplicate.
    near = encode(picture.resize((200, 150)), "JPEG", quality=70)
    second = await make_asset(container, account.account_id, near, "image/jpeg", "copy.jpg")
    different = await make_asset(
        container, account.account_id, encode(scene(400, 300, seed=11).rotate(90))
    )
    foreign = await make_asset(container, other_account.account_id, encode(picture))
    await run_skill(client, other_account, foreign, "perceptual-hash")
    for asset_id in (first, different):
        assert (await run_skill(client, account, asset_id, "perceptual-hash")).status_code == 200
    response = await run_skill(client, account, second, "perceptual-hash")
    assert response.status_code == 200, response.text
    asset = response.json()["data"]["asset"]
    payload = ai_payload(asset, "perceptual-hash")
    assert len(payload["hash"]) == 16
    async with container.db.read() as session:
        row = await session.get(Asset, second)
        assert row is not None and row.perceptual_hash == payload["hash"]
    found = {d["assetId"]: d["distance"] for d in payload["duplicates"]}
    assert set(found) == {first}  # not the different picture, not another account's copy
    assert found[first] <= 6


async def test_alt_text_fills_only_empty_alt_text(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    empty = await make_asset(container, account.account_id, encode(scene()))
    kept = await make_asset(container, account.account_id, encode(scene()), alt_text="mine")
    response = await run_skill(client, account, empty, "alt-text")
    assert response.status_code == 200, response.text
    asset = response.json()["data"]["asset"]
    assert asset["altText"] == ai_payload(asset, "alt-text")["text"]
    assert asset["altText"].startswith("Landscape image")
    response = await run_skill(client, account, kept, "alt-text")
    assert response.json()["data"]["asset"]["altText"] == "mine"


async def test_caption_says_when_text_appears(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    import cv2

    page = np.full((300, 520, 3), 255, dtype=np.uint8)
    for row, line in enumerate(["Invoice number 2041", "Total due: 310 EUR", "Pay by 1 March"]):
        cv2.putText(page, line, (15, 60 + row * 70), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (0, 0, 0), 2)
    asset_id = await make_asset(container, account.account_id, encode(Image.fromarray(page)))
    response = await run_skill(client, account, asset_id, "basic_image_enrich")
    caption = ai_payload(response.json()["data"]["asset"], "caption")
    assert caption["analysis"]["appearsToContainText"] is True
    assert "appears to contain text" in caption["text"]


@pytest.mark.no_workers
async def test_run_times_out_without_a_worker(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    container.settings.assets_skill_wait_seconds = 0.3
    asset_id = await make_asset(container, account.account_id, encode(scene()))
    response = await run_skill(client, account, asset_id, "basic_image_enrich")
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "skill_timeout"


@pytest.mark.no_workers
async def test_start_skill_contract(container: Container, account: TestAccount) -> None:
    asset_id = await make_asset(container, account.account_id, encode(scene()))
    async with container.db.transaction() as session:
        asset = await session.get(Asset, asset_id)
        assert asset is not None
        execution = await service.start_skill(
            session, container, asset, service.DEFAULT_UPLOAD_SKILL, None, "upload"
        )
    async with container.db.read() as session:
        job = await session.get(Job, execution.job_id)
        assert job is not None
        assert (job.kind, job.queue, job.cost_micro_usd) == ("asset.skill", "cpu", 0)
        assert job.owner_id == account.account_id
        assert job.input == {"execution_id": execution.id, "asset_id": asset_id}
        stored = await session.get(SkillExecution, execution.id)
        assert stored is not None and stored.trigger == "upload"
        assert stored.completed_at is None


async def test_upload_runs_the_enrichment_skill(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    """Through the core upload endpoint: the default skill runs on upload, then a skill run on
    the uploaded asset works against its storage."""
    from tests.assets.assets_helpers import upload

    response = await upload(client, account.headers, encode(scene(500, 300)), file_name="s.png")
    assert response.status_code == 202, response.text
    asset_id = response.json()["data"]["id"]
    async with container.db.read() as session:
        execution = await session.scalar(
            select(SkillExecution).where(SkillExecution.asset_id == asset_id)
        )
        assert execution is not None and execution.trigger == "upload"
    await service.wait_for_execution(container, execution.id, 30)
    detail = (await client.get(f"/api/v1/assets/{asset_id}", headers=account.headers)).json()
    asset = detail["data"]
    assert asset["status"] == "ready"
    assert derivative(asset, "thumbnail")["width"] == 256
    assert ai_payload(asset, "caption")["source"] == "builtin"
    assert asset["latestSkillExecution"]["skillName"] == "basic_image_enrich"
    thumb = await client.get(derivative(asset, "thumbnail")["publicUrl"])
    assert thumb.status_code == 200 and thumb.content[:4] == b"RIFF"
    response = await run_skill(client, account, asset_id, "perceptual-hash")
    assert response.status_code == 200 and response.json()["data"]["succeeded"] is True


async def test_unavailable_storage_fails_the_steps_not_the_job(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    asset_id = await make_asset(container, account.account_id, encode(scene()))
    async with container.db.transaction() as session:
        row = await session.get(Asset, asset_id)
        assert row is not None
        row.storage_provider = "s3"  # not this server's store, and no profile
    response = await run_skill(client, account, asset_id, "dominant-colors")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert steps_of(response) == [("decode", False), ("dominant-colors", False)]
    assert "storage is unavailable" in data["steps"][0]["errorMessage"]
    assert data["asset"]["status"] == "failed"
