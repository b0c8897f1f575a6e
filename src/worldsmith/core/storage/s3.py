"""Objects in an S3 bucket (AWS or any S3-compatible server), under one key prefix.

Clients upload and download straight to and from the bucket through presigned URLs, so no
bytes pass through this server, and every node of a scale-out deployment sees the same
objects. boto3 is synchronous: every call that talks to the server runs in a worker thread
(`asyncio.to_thread`) so the event loop never waits on the network. One client is made at
start-up and shared, as boto3 clients are thread-safe.

Presigning (`download_url`, `presign_upload`) is local computation, done on the event loop:
credentials are resolved once at start-up, so it does not reach the network (temporary
credentials may refresh there, rarely).

A presigned PUT cannot cap the size of the body (only a presigned POST policy can), so the
`max_bytes` of `presign_upload` is enforced when the upload is finalized: the object's size is
checked before it is downloaded and used (see `worlds/media_assets.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from worldsmith.config import Settings
from worldsmith.core.storage.base import (
    PresignedUpload,
    StoreCapabilities,
    StoredObject,
    check_key,
)

# SigV4 presigned URLs live at most 7 days.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
MATERIALIZED_DIR = "_objects"  # under a scratch dir, apart from the files engines write
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def make_s3_client(settings: Settings) -> Any:
    """The one boto3 client for `settings`. Explicit settings win; anything unset falls back to
    boto3's standard chain (AWS_* variables, ~/.aws files, instance roles)."""
    key_id, secret = settings.s3_access_key_id, settings.s3_secret_access_key
    if (key_id is None) != (secret is None):
        raise ValueError(
            "set both WORLDSMITH_S3_ACCESS_KEY_ID and WORLDSMITH_S3_SECRET_ACCESS_KEY, or neither "
            "(to use the standard AWS credential chain)"
        )
    return make_s3_client_for(
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=key_id,
        secret_access_key=secret,
    )


def make_s3_client_for(
    *,
    endpoint_url: str | None,
    region: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> Any:
    """A boto3 client for one endpoint and set of credentials (the settings' own, or a storage
    profile's). Raises ValueError when no credentials can be found."""
    session = boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        region_name=region,
    )
    if session.get_credentials() is None:  # fail at start-up, not on the first presign
        raise ValueError(
            "no S3 credentials: set WORLDSMITH_S3_ACCESS_KEY_ID and "
            "WORLDSMITH_S3_SECRET_ACCESS_KEY, or the standard AWS_* variables"
        )
    options: dict[str, Any] = {"signature_version": "s3v4", "retries": {"mode": "standard"}}
    if endpoint_url:
        # S3-compatible servers (MinIO, Ceph, R2, moto...) rarely resolve virtual-host bucket
        # names, and several reject the checksums newer SDKs add to every upload by default.
        options["s3"] = {"addressing_style": "path"}
        options["request_checksum_calculation"] = "when_required"
        options["response_checksum_validation"] = "when_required"
    else:
        # On AWS, virtual-host style gives regional URLs (bucket.s3.<region>.amazonaws.com): the
        # global host answers young buckets with a redirect, which breaks a presigned URL.
        options["s3"] = {"addressing_style": "virtual"}
    return session.client("s3", endpoint_url=endpoint_url, config=Config(**options))


def _is_not_found(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code")) in _NOT_FOUND or status == 404


def _clamp_ttl(expires_in: int) -> int:
    return max(1, min(expires_in, MAX_PRESIGN_SECONDS))


class _HashingReader:
    """A read-only, non-seekable view of a file that hashes what is read. Being non-seekable
    makes boto3 read it once, front to back, so the digest covers exactly the bytes sent (and
    the file is read once, not once to hash and again to send). The price: boto3 keeps the
    parts of a multipart upload it has read but not sent in memory (at most 10 × 8 MiB)."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._fh.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


class S3ObjectStore:
    capabilities = StoreCapabilities(public_urls=True, versioning=False, write=True)

    def __init__(
        self, client: Any, bucket: str, prefix: str = "", *, public_base_url: str | None = None
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_key(self.prefix)
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None

    def object_key(self, key: str) -> str:
        """The bucket key of one of our keys: under the configured prefix."""
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _put_file_sync(self, key: str, src: Path, content_type: str) -> StoredObject:
        with src.open("rb") as fh:
            reader = _HashingReader(fh)
            self.client.upload_fileobj(
                reader, self.bucket, self.object_key(key), ExtraArgs={"ContentType": content_type}
            )
        return StoredObject(key=key, size=reader.size, sha256=reader.digest.hexdigest())

    async def put_file(
        self, key: str, src: Path, content_type: str, *, commit_message: str | None = None
    ) -> StoredObject:
        return await asyncio.to_thread(self._put_file_sync, key, src, content_type)

    def _materialize_sync(self, key: str, scratch_dir: Path) -> Path:
        dest = (scratch_dir / MATERIALIZED_DIR / check_key(key)).resolve()
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".part")
        try:
            self.client.download_file(self.bucket, self.object_key(key), str(partial))
        except ClientError as exc:
            partial.unlink(missing_ok=True)
            if _is_not_found(exc):
                raise FileNotFoundError(key) from exc
            raise
        os.replace(partial, dest)
        return dest

    async def materialize(self, key: str, scratch_dir: Path) -> Path:
        """Download the object into `scratch_dir` (the caller removes it with the scratch)."""
        return await asyncio.to_thread(self._materialize_sync, key, scratch_dir)

    def _stat_sync(self, key: str) -> int | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            if _is_not_found(exc):
                return None
            raise
        return int(head["ContentLength"])

    async def stat(self, key: str) -> int | None:
        return await asyncio.to_thread(self._stat_sync, key)

    async def exists(self, key: str) -> bool:
        return await self.stat(key) is not None

    async def delete(self, key: str, *, commit_message: str | None = None) -> None:
        await asyncio.to_thread(
            self.client.delete_object, Bucket=self.bucket, Key=self.object_key(key)
        )

    def download_url(self, key: str, *, expires_in: int) -> str:
        """A presigned GET; or, with `s3_public_base_url` set (a CDN or public bucket), a plain
        link to the same bucket key, which then never expires."""
        object_key = self.object_key(key)
        if self.public_base_url:
            return f"{self.public_base_url}/{quote(object_key)}"
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": object_key},
            ExpiresIn=_clamp_ttl(expires_in),
        )
        return url

    def presign_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedUpload:
        """A presigned PUT with Content-Type among the signed headers. `max_bytes` cannot be
        signed into a PUT: it is checked when the upload is finalized."""
        params = {"Bucket": self.bucket, "Key": self.object_key(key), "ContentType": content_type}
        url: str = self.client.generate_presigned_url(
            "put_object",
            Params=params,
            ExpiresIn=_clamp_ttl(expires_in),
            HttpMethod="PUT",
        )
        return PresignedUpload(url=url, method="PUT", headers={"Content-Type": content_type})
