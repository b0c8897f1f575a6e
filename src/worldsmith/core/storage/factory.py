"""Choosing the object store from `WORLDSMITH_STORAGE_URL`, in one place, so the rest of the
code depends only on the ObjectStore protocol.

- unset: a folder in the data dir (the embedded default);
- `file:///path`: a folder elsewhere (e.g. a shared mount);
- `s3://bucket/prefix`: an S3-compatible bucket, keys under `prefix`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from worldsmith.config import Settings
from worldsmith.core.security import UrlSigner
from worldsmith.core.storage.base import InvalidKey, ObjectStore, check_key
from worldsmith.core.storage.local import LocalObjectStore

if TYPE_CHECKING:
    from worldsmith.core.storage.s3 import S3ObjectStore

# Loose on purpose (S3-compatible servers differ); catches typos such as a scheme in the name.
_BUCKET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{1,254}$")


def build_store(settings: Settings, signer: UrlSigner) -> ObjectStore:
    url = settings.storage_url
    if url is None or not url.strip():
        return LocalObjectStore(settings.objects_dir, signer, settings.public_base())
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise ValueError(f"storage_url {url!r}: use file:///absolute/path")
        return LocalObjectStore(Path(parts.path), signer, settings.public_base())
    if scheme == "s3":
        return _s3_store(settings, url, parts.netloc, parts.path)
    raise ValueError(
        f"storage_url {url!r} is not supported: leave it unset for the local data folder, or use "
        "file:///path or s3://bucket/prefix"
    )


def _s3_store(settings: Settings, url: str, bucket: str, path: str) -> S3ObjectStore:
    # Imported here: boto3 is slow to import, and the embedded setup (and every engine
    # process) never needs it.
    from worldsmith.core.storage.s3 import S3ObjectStore, make_s3_client

    if not _BUCKET_RE.match(bucket):
        raise ValueError(f"storage_url {url!r}: expected s3://bucket/prefix")
    prefix = path.strip("/")
    if prefix:
        try:
            check_key(prefix)
        except InvalidKey as exc:
            raise ValueError(f"storage_url {url!r}: invalid key prefix {prefix!r}") from exc
    return S3ObjectStore(
        make_s3_client(settings), bucket, prefix, public_base_url=settings.s3_public_base_url
    )
