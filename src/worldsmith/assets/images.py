"""What an uploaded asset really is: the format sniffed from its magic bytes (the client's
Content-Type is only a claim), its size read from the header and checked against the pixel
limit before any pixel memory is allocated, then a full decode with only that format's decoder.

Blocking: callers run it in a worker thread."""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from worldsmith.assets.errors import AssetsError


@dataclass(frozen=True)
class ImageFormat:
    mime: str
    extension: str  # without the dot
    pillow: str  # Pillow's format name


FORMATS: dict[str, ImageFormat] = {
    "png": ImageFormat("image/png", "png", "PNG"),
    "jpeg": ImageFormat("image/jpeg", "jpg", "JPEG"),
    "gif": ImageFormat("image/gif", "gif", "GIF"),
    "webp": ImageFormat("image/webp", "webp", "WEBP"),
    "avif": ImageFormat("image/avif", "avif", "AVIF"),
    "bmp": ImageFormat("image/bmp", "bmp", "BMP"),
    "tiff": ImageFormat("image/tiff", "tiff", "TIFF"),
}

_AVIF_BRANDS = (b"avif", b"avis")
HEAD_BYTES = 64


def sniff(head: bytes) -> str | None:
    """The image format named by the first bytes of a file, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and len(head) >= 26:
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp" and len(head) >= 12:
        (box_size,) = struct.unpack(">I", head[:4])
        brands = [head[8:12]] + [
            head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)
        ]
        if any(brand in _AVIF_BRANDS for brand in brands):
            return "avif"
    return None


@dataclass(frozen=True)
class ImageInfo:
    format: ImageFormat
    width: int
    height: int


def inspect_image(path: Path, allowed_mimes: list[str], max_pixels: int) -> ImageInfo:
    """Identify and fully validate the image at `path`; raise AssetsError if it is unfit."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    name = sniff(head)
    fmt = FORMATS.get(name) if name else None
    if fmt is None or fmt.mime not in allowed_mimes:
        allowed = ", ".join(allowed_mimes)
        what = fmt.mime if fmt else "not a recognised image"
        raise AssetsError(
            "asset_content_type_not_allowed",
            f"the file's content ({what}) is not an allowed type; allowed: {allowed}",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # Opening reads only the header; formats=[...] keeps other decoders off the bytes.
            with Image.open(path, formats=[fmt.pillow]) as img:
                width, height = img.size
                _check_pixels(width, height, max_pixels)
                img.load()
    except Image.DecompressionBombError:
        raise _too_many_pixels(None, None, max_pixels) from None
    except AssetsError:
        raise
    except Exception as exc:  # Pillow raises many types for corrupt data
        raise AssetsError(
            "asset_image_invalid", f"the image is truncated or corrupt ({type(exc).__name__})"
        ) from None
    return ImageInfo(format=fmt, width=width, height=height)


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise _too_many_pixels(width, height, max_pixels)


def _too_many_pixels(width: int | None, height: int | None, max_pixels: int) -> AssetsError:
    size = f"{width}×{height} pixels" if width and height else "declared as too large"
    return AssetsError(
        "asset_image_too_many_pixels",
        f"the image is {size}; the limit is {max_pixels:,} pixels",
    )
