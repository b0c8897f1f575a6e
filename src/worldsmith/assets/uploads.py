"""Receiving `POST /api/v1/assets`: the multipart body is read with a byte cap (checked on the
declared Content-Length first, then on what actually arrives), the file part is copied to a
scratch file while hashing, and the small text fields are parsed and checked.

Nothing here touches storage or the database: a rejected upload leaves nothing behind but the
scratch file, which the caller removes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.types import Message

from worldsmith.assets.errors import AssetsError
from worldsmith.config import Settings

# Room for multipart boundaries, part headers and the small text fields.
FORM_OVERHEAD_BYTES = 64 * 1024
MAX_TEXT_CHARS = 1000
MAX_FILE_NAME_CHARS = 255
_COPY_CHUNK = 1024 * 1024
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass
class UploadForm:
    path: Path
    size: int
    sha256: str
    original_file_name: str
    description: str | None
    alt_text: str | None
    is_public: bool
    storage_profile_id: str | None
    run_enrichment: bool
    commit_message: str | None


def _too_large(max_bytes: int) -> AssetsError:
    return AssetsError(
        "asset_file_too_large", f"the file is larger than the limit of {max_bytes:,} bytes"
    )


def _capped(request: Request, cap: int, max_bytes: int) -> Request:
    """The same request, whose body stops being read once it passes `cap` bytes."""
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > cap:
                raise _too_large(max_bytes)
        return message

    return Request(request.scope, receive)


def parse_bool(name: str, value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise AssetsError("bad_request", f"{name}: must be true or false")


def clean_file_name(name: str) -> str | None:
    """The last path component without control characters, or None if nothing is left."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    if not base or base in (".", "..") or len(base) > MAX_FILE_NAME_CHARS:
        return None
    return base


def check_text(value: str | None, code: str, field: str) -> str | None:
    if value is not None and len(value) > MAX_TEXT_CHARS:
        raise AssetsError(
            code, f"{field} is {len(value)} characters; the limit is {MAX_TEXT_CHARS}"
        )
    return value


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise AssetsError("bad_request", f"{name}: must be a text field, not a file")
    return value


def _copy_hashing(src: BinaryIO, dest: Path, max_bytes: int) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    src.seek(0)
    with dest.open("wb") as out:
        while chunk := src.read(_COPY_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes)
            digest.update(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def scratch_path(settings: Settings) -> Path:
    folder = settings.work_dir / "asset-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / uuid.uuid4().hex


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


async def receive_upload(request: Request, settings: Settings) -> UploadForm:
    """Parse and check the upload form; the caller owns (and removes) `UploadForm.path`."""
    max_bytes = settings.assets_max_upload_bytes
    cap = max_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise _too_large(max_bytes)
    form = await _capped(request, cap, max_bytes).form(max_files=1, max_fields=32)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise AssetsError("asset_file_required", "file: send the image as a multipart file")
        description = check_text(
            _text(form, "description"), "asset_description_too_long", "description"
        )
        alt_text = check_text(_text(form, "altText"), "asset_alt_text_too_long", "altText")
        is_public = parse_bool("isPublic", _text(form, "isPublic"), True)
        run_enrichment = parse_bool("runEnrichment", _text(form, "runEnrichment"), True)
        profile_id = (_text(form, "storageProviderProfileId") or "").strip() or None
        commit_message = (_text(form, "commitMessage") or "").strip() or None
        if commit_message is not None and len(commit_message) > MAX_TEXT_CHARS:
            raise AssetsError("bad_request", f"commitMessage: at most {MAX_TEXT_CHARS} characters")
        file_name = clean_file_name(upload.filename or "") or "upload"
        path = scratch_path(settings)
        try:
            size, sha256 = await asyncio.to_thread(_copy_hashing, upload.file, path, max_bytes)
        except BaseException:
            await asyncio.to_thread(remove_quietly, path)
            raise
    finally:
        await form.close()
    if size == 0:
        await asyncio.to_thread(remove_quietly, path)
        raise AssetsError("asset_file_empty", "the uploaded file is empty")
    return UploadForm(
        path=path,
        size=size,
        sha256=sha256,
        original_file_name=file_name,
        description=description or None,
        alt_text=alt_text or None,
        is_public=is_public,
        storage_profile_id=profile_id,
        run_enrichment=run_enrichment,
        commit_message=commit_message,
    )
