"""Worlds generated through the API, downloaded through their URLs, opened by real readers."""

from __future__ import annotations

import gzip
import http.server
import io
import struct
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import trimesh
from PIL import Image

from tests.conftest import TestAccount
from tests.media import jpeg_bytes, mp4_bytes, png_bytes
from tests.openapi_schema import assert_matches
from tests.worlds.helpers import generate, inline_image_request, text_request, wait_done
from tests.worlds.test_media_assets_api import prepare, upload_of
from worldsmith.billing.service import balance_of
from worldsmith.core.container import Container


def _spz_header(data: bytes) -> tuple[int, int, int, int]:
    raw = gzip.decompress(data)
    magic, version, count, sh_degree, fractional = struct.unpack_from("<IIIBB", raw)
    assert magic == 0x5053474E
    return version, count, sh_degree, fractional


async def _download(client: httpx.AsyncClient, url: str) -> bytes:
    resp = await client.get(url)
    assert resp.status_code == 200, url
    return resp.content


async def _check_world(client: httpx.AsyncClient, world: dict[str, Any], width: int) -> None:
    assert_matches(world, "World")
    assets = world["assets"]
    pano = Image.open(io.BytesIO(await _download(client, assets["imagery"]["pano_url"])))
    assert pano.format == "PNG" and pano.size == (width, width // 2)
    thumb = Image.open(io.BytesIO(await _download(client, assets["thumbnail_url"])))
    assert thumb.format == "JPEG"
    counts = {}
    for level, url in assets["splats"]["spz_urls"].items():
        version, count, sh_degree, fractional = _spz_header(await _download(client, url))
        assert (version, sh_degree, fractional) == (3, 0, 12)
        counts[level] = count
    assert set(counts) == {"100k", "500k", "full_res"}
    assert 90_000 <= counts["100k"] <= 110_000
    assert counts["500k"] <= counts["full_res"]
    glb = await _download(client, assets["mesh"]["collider_mesh_url"])
    mesh = trimesh.load(io.BytesIO(glb), file_type="glb", force="mesh")
    assert 1_000 < len(mesh.faces) <= 200_000
    assert assets["caption"]
    semantics = assets["splats"]["semantics_metadata"]
    assert semantics["metric_scale_factor"] > 0 and "ground_plane_offset" in semantics
    page = await client.get(world["world_marble_url"])
    assert page.status_code == 200 and "<canvas" in page.text


async def test_text_world_end_to_end(
    client: httpx.AsyncClient, account: TestAccount, container: Container
) -> None:
    async with container.db.read() as session:
        before = await balance_of(session, account.account_id)
    op = await generate(client, account, text_request(seed=3, tags=["forest"]))
    done = await wait_done(client, account, op["operation_id"])
    assert done["error"] is None and done["metadata"]["progress"]["percentage"] == 100.0
    world = done["response"]
    await _check_world(client, world, 1280)
    fetched = await client.get(f"/marble/v1/worlds/{world['world_id']}", headers=account.headers)
    assert_matches(fetched.json(), "World")
    listed = await client.post(
        "/marble/v1/worlds:list", json={"status": "SUCCEEDED"}, headers=account.headers
    )
    assert [w["world_id"] for w in listed.json()["worlds"]] == [world["world_id"]]
    async with container.db.read() as session:
        assert before - await balance_of(session, account.account_id) == 230 * 800  # no refund
    # the viewer page of a private world needs its signed link
    bare = world["world_marble_url"].split("?")[0]
    assert (await client.get(bare)).status_code == 404


async def test_image_world_from_uploaded_asset(
    client: httpx.AsyncClient, account: TestAccount
) -> None:
    url, headers, asset_id = upload_of(await prepare(client, account, file_name="p.jpg"))
    assert (await client.put(url, content=jpeg_bytes(320, 240), headers=headers)).status_code == 200
    body = {
        "world_prompt": {
            "type": "image",
            "image_prompt": {"source": "media_asset", "media_asset_id": asset_id},
        },
        "model": "Marble 0.1-mini",
    }
    done = await wait_done(client, account, (await generate(client, account, body))["operation_id"])
    assert done["error"] is None, done
    world = done["response"]
    await _check_world(client, world, 1280)
    prompt = world["world_prompt"]
    assert prompt["type"] == "image" and prompt["image_prompt"]["extension"] == "jpg"
    assert prompt["text_prompt"] == world["assets"]["caption"]  # recaptioned
    assert (await client.get(prompt["image_prompt"]["uri"])).status_code == 200


@pytest.fixture
def media_server() -> Iterator[str]:
    files = {"/a.png": png_bytes(96, 64), "/b.png": png_bytes(96, 64, (200, 90, 30))}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_multi_image_world_from_urls_and_inline(
    client: httpx.AsyncClient, account: TestAccount, media_server: str
) -> None:
    inline = inline_image_request(png_bytes(80, 60, (10, 200, 10)))["world_prompt"]["image_prompt"]
    body = {
        "world_prompt": {
            "type": "multi-image",
            "multi_image_prompt": [
                {"azimuth": 0, "content": {"source": "uri", "uri": f"{media_server}/a.png"}},
                {"azimuth": 180, "content": {"source": "uri", "uri": f"{media_server}/b.png"}},
                {"content": inline},
            ],
            "text_prompt": "a courtyard",
        },
        "model": "Marble 0.1-mini",
    }
    done = await wait_done(client, account, (await generate(client, account, body))["operation_id"])
    assert done["error"] is None, done
    prompt = done["response"]["world_prompt"]
    assert [c["azimuth"] for c in prompt["multi_image_prompt"]] == [0, 180, None]
    await _check_world(client, done["response"], 1280)
    missing = {
        "world_prompt": {
            "type": "image",
            "image_prompt": {"source": "uri", "uri": f"{media_server}/missing.png"},
        }
    }
    err = await generate(client, account, missing, status=400)
    assert "HTTP 404" in err["detail"]


async def test_video_world(client: httpx.AsyncClient, account: TestAccount) -> None:
    url, headers, asset_id = upload_of(
        await prepare(client, account, file_name="walk.mp4", kind="video")
    )
    assert (await client.put(url, content=mp4_bytes(2.0), headers=headers)).status_code == 200
    body = {
        "world_prompt": {
            "type": "video",
            "video_prompt": {"source": "media_asset", "media_asset_id": asset_id},
        },
        "model": "Marble 0.1-mini",
    }
    done = await wait_done(client, account, (await generate(client, account, body))["operation_id"])
    assert done["error"] is None, done
    await _check_world(client, done["response"], 1280)


async def test_same_seed_same_files(client: httpx.AsyncClient, account: TestAccount) -> None:
    worlds = []
    for _ in range(2):
        op = await generate(client, account, text_request("a desert at sunset", seed=11))
        worlds.append((await wait_done(client, account, op["operation_id"]))["response"])
    a, b = (w["assets"] for w in worlds)
    assert await _download(client, a["splats"]["spz_urls"]["100k"]) == await _download(
        client, b["splats"]["spz_urls"]["100k"]
    )
    assert await _download(client, a["imagery"]["pano_url"]) == await _download(
        client, b["imagery"]["pano_url"]
    )
