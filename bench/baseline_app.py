"""Baseline ASGI app for bench/bench_api.py: the floor FastAPI itself sets on this machine.

Two endpoints with the same paths (and so the same request bytes) as the worldsmith endpoints
they are compared with, minus everything worldsmith adds:

* ``GET /marble/v1/operations/{operation_id}``: returns a constant JSON object. No auth, no
  database, no Pydantic response model.
* ``PUT /storage/v1/objects/{key:path}``: streams the request body (``request.stream()``) into a
  file under ``BENCH_BASELINE_UPLOAD_DIR`` (default: the system temp dir) with plain,
  synchronous ``write()`` calls of each received chunk on the event loop, then ONE ``fsync`` and
  close, then deletes the file. No signature check, no hashing, no thread hand-off, no rename.

Serve it with the same server code path ``worldsmith serve`` uses:

    python -m bench.baseline_app --server uvicorn|granian --port 8001

(or ``uvicorn bench.baseline_app:create_app --factory`` /
``granian --interface asgi --factory bench.baseline_app:create_app``).
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response

APP_TARGET = "bench.baseline_app:create_app"

POLL_BODY: dict[str, Any] = {
    "operation_id": "baseline",
    "done": True,
    "metadata": {"progress": {"status": "SUCCEEDED", "percentage": 100.0}},
}


def create_app() -> FastAPI:
    upload_dir = Path(os.environ.get("BENCH_BASELINE_UPLOAD_DIR") or tempfile.gettempdir())
    upload_dir.mkdir(parents=True, exist_ok=True)
    app = FastAPI(title="worldsmith bench baseline")

    @app.get("/marble/v1/operations/{operation_id}")
    async def poll(operation_id: str) -> dict[str, Any]:
        return POLL_BODY

    @app.put("/storage/v1/objects/{key:path}")
    async def upload(key: str, request: Request) -> Response:
        path = upload_dir / f"baseline-{uuid.uuid4().hex}.bin"
        size = 0
        try:
            with path.open("wb") as fh:
                async for chunk in request.stream():
                    fh.write(chunk)
                    size += len(chunk)
                fh.flush()
                os.fsync(fh.fileno())
        finally:
            path.unlink(missing_ok=True)
        return Response(status_code=200, headers={"X-Bytes": str(size)})

    return app


def serve(server: str, host: str, port: int) -> None:
    """Exactly the server calls of `worldsmith serve` (src/worldsmith/cli.py), other target."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if server == "uvicorn":
        import uvicorn

        uvicorn.run(APP_TARGET, factory=True, host=host, port=port)
        return
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        APP_TARGET,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=1,
    ).serve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["granian", "uvicorn"], default="granian")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    serve(args.server, args.host, args.port)


if __name__ == "__main__":
    main()
