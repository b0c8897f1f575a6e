"""File types the World API accepts, by kind."""

from __future__ import annotations

IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
VIDEO_TYPES = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "avi": "video/x-msvideo",
}
TYPES_BY_KIND = {"image": IMAGE_TYPES, "video": VIDEO_TYPES}


def content_type_for(kind: str, extension: str) -> str | None:
    return TYPES_BY_KIND[kind].get(extension.lower())


def allowed_list(kind: str) -> str:
    return ", ".join(TYPES_BY_KIND[kind])
