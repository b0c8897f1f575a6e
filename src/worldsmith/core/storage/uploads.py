"""Receiving a signed upload: stream to a temp file while hashing, fsync, validate, rename.

The body is never held in memory: it is gathered into buffers of a few MiB, and each buffer is
hashed and written in a worker thread while the next one is read from the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from worldsmith.core.errors import PayloadTooLarge

BUFFER_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ReceivedUpload:
    key: str
    temp_path: Path
    size: int
    sha256: str
    content_type: str


class UploadHook(Protocol):
    """Lets a domain accept or refuse the bytes of an upload before they are published, and
    record them after. `validate` raising an AppError rejects the upload: nothing is stored."""

    async def validate(self, upload: ReceivedUpload) -> None: ...

    async def committed(self, upload: ReceivedUpload) -> None: ...


class UploadHooks:
    def __init__(self) -> None:
        self._by_prefix: dict[str, UploadHook] = {}

    def register(self, prefix: str, hook: UploadHook) -> None:
        self._by_prefix[prefix] = hook

    def for_key(self, key: str) -> UploadHook | None:
        for prefix, hook in self._by_prefix.items():
            if key.startswith(prefix):
                return hook
        return None


class _FileSink:
    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh

    def write_all(self, chunks: list[bytes]) -> None:
        self.fh.writelines(chunks)  # releases the GIL while the kernel copies

    def finish(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())


async def stream_to_file(
    chunks: AsyncIterator[bytes], dest: Path, max_bytes: int
) -> tuple[int, str]:
    """Write `chunks` to `dest` (fsynced) and return (size, sha256 hex). Raises
    PayloadTooLarge as soon as more than `max_bytes` arrive; the partial file is removed.

    Chunks are hashed as they arrive and handed to a worker thread in batches of a few MiB
    without copying them; one batch is written while the next is received, so disk and
    network overlap and the event loop never blocks on the disk."""
    loop = asyncio.get_running_loop()
    size = 0
    batch: list[bytes] = []
    batch_bytes = 0
    pending: asyncio.Future[Any] | None = None
    fh = await asyncio.to_thread(dest.open, "wb")
    sink = _FileSink(fh)
    digest = hashlib.sha256()
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(
                    f"the upload is larger than this URL allows ({max_bytes} bytes)"
                )
            batch.append(chunk)
            batch_bytes += len(chunk)
            if batch_bytes >= BUFFER_BYTES:
                if pending is not None:
                    await pending
                # Two threads: the disk write and the hash both release the GIL, so they run
                # side by side while the event loop keeps reading the socket.
                pending = asyncio.gather(
                    loop.run_in_executor(None, sink.write_all, batch),
                    loop.run_in_executor(None, _hash_all, digest, batch),
                )
                batch, batch_bytes = [], 0
        if pending is not None:
            await pending
            pending = None
        await asyncio.to_thread(sink.write_all, batch)
        _hash_all(digest, batch)
        await asyncio.to_thread(sink.finish)
    except BaseException:
        if pending is not None:
            with contextlib.suppress(Exception):
                await pending
        await asyncio.to_thread(fh.close)
        await asyncio.to_thread(_unlink_quietly, dest)
        raise
    await asyncio.to_thread(fh.close)
    return size, digest.hexdigest()


def _hash_all(digest: Any, chunks: list[bytes]) -> None:
    for chunk in chunks:
        digest.update(chunk)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


async def discard(path: Path) -> None:
    await asyncio.to_thread(_unlink_quietly, path)
