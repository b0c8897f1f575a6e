"""The object-store protocol every backend implements: a local folder (`local.py`) or an
S3-compatible bucket (`s3.py`); `factory.py` picks one from the settings.

Keys are relative, slash-separated paths such as `worlds/<id>/pano.png`. Writes are atomic:
an object is visible under its key only once all its bytes are durably stored. Code outside
`core/storage` uses only this protocol, so it runs unchanged on either backend.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)*$")


class InvalidKey(ValueError):
    pass


def check_key(key: str) -> str:
    if len(key) > 500 or not _KEY_RE.match(key) or ".." in key.split("/"):
        raise InvalidKey(f"invalid object key: {key!r}")
    return key


def guess_content_type(key: str) -> str:
    if key.endswith(".spz"):
        return "application/octet-stream"
    if key.endswith(".glb"):
        return "model/gltf-binary"
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str


@dataclass(frozen=True)
class StoreCapabilities:
    """What a backend can do. `public_urls`: `download_url` gives a link a client can fetch
    without our API key (otherwise content must be streamed through the API); `versioning`:
    every write is kept as a revision (a git commit) and `commit_message` is recorded;
    `write`: objects can be stored and deleted."""

    public_urls: bool
    versioning: bool
    write: bool


@dataclass(frozen=True)
class PresignedUpload:
    url: str
    method: str
    headers: dict[str, str] = field(default_factory=dict)


class ObjectStore(Protocol):
    @property
    def capabilities(self) -> StoreCapabilities: ...

    async def put_file(
        self, key: str, src: Path, content_type: str, *, commit_message: str | None = None
    ) -> StoredObject:
        """Store a local file under `key`; `src` may be moved (it belongs to the caller's
        scratch space). `commit_message` is recorded by versioning stores (git) and ignored by
        the others."""
        ...

    async def materialize(self, key: str, scratch_dir: Path) -> Path:
        """A local path holding the object's bytes, for engines that need files. Remote stores
        download into `scratch_dir` (which the caller cleans up); the local store returns the
        object's own file, which must not be modified. Raises FileNotFoundError."""
        ...

    async def stat(self, key: str) -> int | None:
        """The object's size in bytes, or None when there is none: lets a caller check an
        upload's size before fetching it (presigned PUTs to a bucket cannot cap it)."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str, *, commit_message: str | None = None) -> None:
        """Remove the object (no error when there is none); versioning stores commit the
        removal with `commit_message`."""
        ...

    def download_url(self, key: str, *, expires_in: int) -> str:
        """A link to the object. Raises NotImplementedError where `capabilities.public_urls`
        is False: stream the bytes through the API instead (`materialize`)."""
        ...

    def presign_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedUpload:
        """A URL the client PUTs the bytes to, with the exact headers it must send. `max_bytes`
        is enforced during the upload where the backend can (local) and otherwise when the
        upload is finalized (S3). Raises NotImplementedError where the backend has no upload
        URLs (git repositories, local folders this server does not serve)."""
        ...
