"""HTTP endpoints behind the local store's signed URLs (GET downloads, PUT uploads).

With a bucket as the store, clients talk to the bucket directly and these routes answer 404.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse

from worldsmith.core.container import Container
from worldsmith.core.deps import ContainerDep
from worldsmith.core.errors import AppError, Forbidden, NotFound, PayloadTooLarge
from worldsmith.core.security import UrlGrant
from worldsmith.core.storage.base import InvalidKey, check_key, guess_content_type
from worldsmith.core.storage.local import OBJECTS_ROUTE, LocalObjectStore
from worldsmith.core.storage.uploads import ReceivedUpload, discard, stream_to_file

router = APIRouter(include_in_schema=False)


def _local_store(container: Container) -> LocalObjectStore:
    store = container.store
    if not isinstance(store, LocalObjectStore):
        raise NotFound("no such object")
    return store


def _check_grant(container: Container, grant: UrlGrant, signature: str) -> None:
    try:
        check_key(grant.key)
    except InvalidKey as exc:
        raise NotFound("no such object") from exc
    if not container.signer.verify(grant, signature):
        raise Forbidden(
            "the signature does not match this URL: use it unchanged, with the method it was "
            "made for and the exact Content-Type header it requires"
        )
    if grant.expires < time.time():
        raise Forbidden("this signed URL has expired; ask the API for a new one")


@router.get(OBJECTS_ROUTE + "/{key:path}")
async def download_object(
    key: str,
    container: ContainerDep,
    expires: Annotated[int, Query()],
    signature: Annotated[str, Query()],
    method: Annotated[str, Query()] = "GET",
) -> FileResponse:
    store = _local_store(container)
    if method.upper() != "GET":
        raise Forbidden(f"this URL is signed for {method.upper()}, not GET")
    _check_grant(container, UrlGrant("GET", key, expires), signature)
    path = store.path_for(key)
    if not path.is_file():
        raise NotFound("no such object")
    return FileResponse(path, media_type=guess_content_type(key))


@router.put(OBJECTS_ROUTE + "/{key:path}")
async def upload_object(
    key: str,
    request: Request,
    container: ContainerDep,
    expires: Annotated[int, Query()],
    signature: Annotated[str, Query()],
    max_bytes: Annotated[int, Query()],
    method: Annotated[str, Query()] = "GET",
) -> Response:
    store = _local_store(container)
    if method.upper() != "PUT":
        raise Forbidden(f"this URL is signed for {method.upper()}, not PUT")
    content_type = request.headers.get("content-type", "")
    _check_grant(container, UrlGrant("PUT", key, expires, max_bytes, content_type), signature)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(
            f"the upload is {int(declared)} bytes; this URL allows at most {max_bytes}"
        )

    temp = store.new_temp_path()
    size, sha256 = await stream_to_file(request.stream(), temp, max_bytes)
    upload = ReceivedUpload(key, temp, size, sha256, content_type)
    hook = container.upload_hooks.for_key(key)
    try:
        if hook is not None:
            await hook.validate(upload)
        await asyncio.to_thread(store.promote, temp, key)
    except (AppError, OSError):
        await discard(temp)
        raise
    if hook is not None:
        await hook.committed(upload)
    return Response(status_code=200, headers={"ETag": f'"{sha256}"'})
