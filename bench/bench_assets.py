"""Assets API: upload throughput, and list latency with 1k vs 100k assets in the account.

Runs the real app in-process (SQLite in a temp folder, local store), through httpx's ASGI
transport, so the figures are the server's own work without a network or load generator:
- upload: multipart POST /api/v1/assets of a 256 KiB PNG (runEnrichment=false), uploads/s
  and MiB/s;
- list: GET /api/v1/assets p50/p99 for the first page, a deep page (page 40), a sort by
  size and a text search, with 1,000 and then 100,000 assets in the account (rows inserted in
  bulk, as uploads would leave them). Target: 100k within 2x of 1k.

    python bench/bench_assets.py [--big 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from PIL import Image
from sqlalchemy import insert

from worldsmith.accounts.service import create_account
from worldsmith.app import create_app
from worldsmith.config import Settings
from worldsmith.core.container import Container
from worldsmith.core.ids import new_uuid
from worldsmith.core.models import Asset

UPLOADS = 60
LIST_SAMPLES = 60
QUERIES = {
    "first page": "/api/v1/assets?page=1&pageSize=20",
    "page 40": "/api/v1/assets?page=40&pageSize=20",
    "by size asc": "/api/v1/assets?orderBy=size&orderDirection=asc&pageSize=20",
    "search q": "/api/v1/assets?q=harbour&pageSize=20",
}


def _png(size_kib: int = 256) -> bytes:
    side = int((size_kib * 1024 / 3) ** 0.5)
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


async def _fill(container: Container, owner: str, total: int, have: int) -> None:
    """Insert rows until the account has `total` assets (bulk, 5,000 per statement)."""
    start = datetime.now(UTC) - timedelta(days=30)
    words = ["harbour", "forest", "street", "portrait", "kitchen", "mountain", "beach"]
    while have < total:
        batch = min(5000, total - have)
        rows = []
        for i in range(batch):
            n = have + i
            asset_id = new_uuid()
            rows.append(
                {
                    "id": asset_id,
                    "owner_id": owner,
                    "type": "image",
                    "status": "ready",
                    "original_file_name": f"{words[n % 7]}-{n}.png",
                    "stored_file_name": f"{asset_id}.png",
                    "content_type": "image/png",
                    "size_bytes": 1000 + (n * 7919) % 5_000_000,
                    "sha256": "0" * 64,
                    "width": 640,
                    "height": 480,
                    "description": f"photo {n} of a {words[n % 5]}",
                    "alt_text": None,
                    "is_public": False,
                    "storage_provider": "local",
                    "storage_profile_id": None,
                    "storage_key": f"assets/{owner}/{asset_id}.png",
                    "created_at": start + timedelta(seconds=n),
                    "updated_at": start,
                }
            )
        async with container.db.transaction() as session:
            await session.execute(insert(Asset), rows)
        have += batch


async def _latency(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> list[float]:
    for _ in range(5):
        assert (await client.get(url, headers=headers)).status_code == 200
    samples = []
    for _ in range(LIST_SAMPLES):
        started = time.perf_counter()
        resp = await client.get(url, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert resp.status_code == 200, resp.text
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), secret_key="bench", embedded_workers=0)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            container: Container = app.state.container
            async with container.db.transaction() as session:
                account, key = await create_account(session, "bench@assets.local")
            headers = {"Authorization": f"Bearer {key}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                body = _png()
                started = time.perf_counter()
                for i in range(UPLOADS):
                    resp = await client.post(
                        "/api/v1/assets",
                        files={"file": (f"upload-{i}.png", body, "image/png")},
                        data={"runEnrichment": "false"},
                        headers=headers,
                    )
                    assert resp.status_code == 202, resp.text
                elapsed = time.perf_counter() - started
                mib = UPLOADS * len(body) / 2**20
                print(
                    f"upload: {UPLOADS / elapsed:.1f} uploads/s, {mib / elapsed:.1f} MiB/s "
                    f"({len(body) // 1024} KiB PNGs, sniffed, hashed, decoded, stored)"
                )
                results: dict[int, dict[str, float]] = {}
                have = UPLOADS
                for total in (1000, args.big):
                    await _fill(container, account.id, total, have)
                    have = total
                    results[total] = {}
                    for label, url in QUERIES.items():
                        samples = await _latency(client, headers, url)
                        p50 = statistics.median(samples)
                        p99 = sorted(samples)[int(0.99 * len(samples)) - 1]
                        results[total][label] = p50
                        print(
                            f"list {total:>7} assets  {label:<12} "
                            f"p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
                        )
                print(f"\nlist latency, {args.big} vs 1000 assets (target <= 2x):")
                for label in QUERIES:
                    ratio = results[args.big][label] / results[1000][label]
                    verdict = "OK" if ratio <= 2 else "OVER"
                    print(f"  {label:<12} {ratio:5.2f}x {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
