"""Helpers for the Assets API tests: real image bytes and a multipart upload call."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from worldsmith.core.container import Container

API = "/api/v1/assets"


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (32, 24), color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height, with one tiny (bogus) data chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes | None = None,
    *,
    file_name: str = "kitten.png",
    content_type: str = "image/png",
    **fields: str,
) -> httpx.Response:
    files: dict[str, Any] = {}
    if content is not None:
        files["file"] = (file_name, content, content_type)
    else:
        files["__nothing"] = ("x.txt", b"x", "text/plain") if not fields else None
        files = {k: v for k, v in files.items() if v is not None}
    data = dict(fields)
    return await client.post(API, headers=headers, files=files or None, data=data or None)


async def upload_ready(
    client: httpx.AsyncClient, headers: dict[str, str], content: bytes | None = None, **fields: str
) -> dict[str, Any]:
    fields.setdefault("runEnrichment", "false")
    response = await upload(client, headers, content or image_bytes(), **fields)
    assert response.status_code == 202, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def stored_files(container: Container) -> list[Path]:
    root = container.settings.objects_dir / "assets"
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file())


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    code: str = body["error"]["code"]
    assert body["error"]["message"]
    return code
