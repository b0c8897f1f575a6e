"""Objects in a folder on local disk, served through HMAC-signed URLs by this server (the
routes in `routes.py`, which are the only users of the methods beyond the ObjectStore
protocol)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import stat
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlencode

from worldsmith.core.security import UrlGrant, UrlSigner
from worldsmith.core.storage.base import (
    PresignedUpload,
    StoreCapabilities,
    StoredObject,
    check_key,
)

OBJECTS_ROUTE = "/storage/v1/objects"
_COPY_CHUNK = 4 * 1024 * 1024


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalObjectStore:
    """`url_key_prefix` is for a store whose folder lies inside the folder the signed routes
    serve (the container's store): its URLs name `<url_key_prefix>/<key>` there. None means
    the routes cannot reach this folder: no URLs (`capabilities.public_urls` is False)."""

    def __init__(
        self,
        root: Path,
        signer: UrlSigner,
        public_base: str,
        *,
        url_key_prefix: str | None = "",
    ) -> None:
        self.root = root.resolve()
        self.tmp_dir = self.root / ".incoming"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.signer = signer
        self.public_base = public_base.rstrip("/")
        self.url_key_prefix = url_key_prefix.strip("/") if url_key_prefix is not None else None
        self.capabilities = StoreCapabilities(
            public_urls=url_key_prefix is not None, versioning=False, write=True
        )

    def _url_key(self, key: str) -> str:
        check_key(key)
        if self.url_key_prefix is None:
            raise NotImplementedError(
                "this folder is not served by the storage routes: stream its content instead"
            )
        return f"{self.url_key_prefix}/{key}" if self.url_key_prefix else key

    def path_for(self, key: str) -> Path:
        return self.root / check_key(key)

    def new_temp_path(self) -> Path:
        """A scratch file on the same filesystem as the objects, so promotion is a rename."""
        return self.tmp_dir / uuid.uuid4().hex

    def promote(self, temp: Path, key: str) -> None:
        """Atomically publish a fully written, fsynced temp file under `key` (blocking)."""
        dest = self.path_for(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, dest)
        _fsync_dir(dest.parent)

    def _put_file_sync(self, key: str, src: Path) -> StoredObject:
        sha = _sha256_file(src)
        size = src.stat().st_size
        temp = self.new_temp_path()
        try:
            os.link(src, temp)  # same filesystem: no copy
        except OSError:
            shutil.copyfile(src, temp)
        with temp.open("rb+") as fh:
            os.fsync(fh.fileno())
        self.promote(temp, key)
        return StoredObject(key=key, size=size, sha256=sha)

    async def put_file(
        self, key: str, src: Path, content_type: str, *, commit_message: str | None = None
    ) -> StoredObject:
        return await asyncio.to_thread(self._put_file_sync, check_key(key), src)

    async def materialize(self, key: str, scratch_dir: Path) -> Path:
        path = self.path_for(key)
        if not await asyncio.to_thread(path.is_file):
            raise FileNotFoundError(key)
        return path

    async def stat(self, key: str) -> int | None:
        def _stat() -> int | None:
            try:
                info = self.path_for(key).stat()
            except (FileNotFoundError, NotADirectoryError):
                return None
            return info.st_size if stat.S_ISREG(info.st_mode) else None

        return await asyncio.to_thread(_stat)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_for(key).is_file)

    async def delete(self, key: str, *, commit_message: str | None = None) -> None:
        def _delete() -> None:
            with contextlib.suppress(FileNotFoundError):
                self.path_for(key).unlink()

        await asyncio.to_thread(_delete)

    def _signed_url(self, grant: UrlGrant) -> str:
        params: dict[str, str] = {"expires": str(grant.expires)}
        if grant.method != "GET":
            params["method"] = grant.method
        if grant.max_bytes is not None:
            params["max_bytes"] = str(grant.max_bytes)
        params["signature"] = self.signer.sign(grant)
        return f"{self.public_base}{OBJECTS_ROUTE}/{quote(grant.key)}?{urlencode(params)}"

    def download_url(self, key: str, *, expires_in: int) -> str:
        grant = UrlGrant("GET", self._url_key(key), int(time.time()) + expires_in)
        return self._signed_url(grant)

    def presign_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedUpload:
        grant = UrlGrant(
            "PUT", self._url_key(key), int(time.time()) + expires_in, max_bytes, content_type
        )
        return PresignedUpload(
            url=self._signed_url(grant), method="PUT", headers={"Content-Type": content_type}
        )
