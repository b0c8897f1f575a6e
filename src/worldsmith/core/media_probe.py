"""Check that user-supplied media really is the image or video it claims to be.

Uploads, inline base64 data and fetched URLs all end here before anything is
marked READY. Names, extensions and Content-Type headers are the sender's
claims, so the container is identified from its magic bytes, only the decoder
for that format is allowed to touch it, and the file is actually decoded (the
whole image, the first video frame) so truncated or corrupt files are turned
away now rather than failing later inside a generation job.

Everything here blocks; callers run it in a worker thread.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import av.error
from PIL import Image

from worldsmith.core.units import format_size

MediaKind = Literal["image", "video"]

_HEAD_BYTES = 4096
_UNSUPPORTED = "not a supported image (png, jpeg, webp) or video (mp4, mov, webm, avi)"


class MediaRejected(Exception):
    """The media is unacceptable for a reason we can show to the person who sent it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class MediaInfo:
    """What the bytes turned out to be. ``extension`` includes the dot (".png")."""

    kind: MediaKind
    format: str
    mime: str
    extension: str
    width: int
    height: int
    duration_s: float | None
    size: int


@dataclass(frozen=True)
class _Format:
    kind: MediaKind
    mime: str
    extension: str
    decoder: str  # Pillow format name or FFmpeg demuxer name


_FORMATS: dict[str, _Format] = {
    "png": _Format("image", "image/png", ".png", "PNG"),
    "jpeg": _Format("image", "image/jpeg", ".jpg", "JPEG"),
    "webp": _Format("image", "image/webp", ".webp", "WEBP"),
    "mp4": _Format("video", "video/mp4", ".mp4", "mp4"),
    "mov": _Format("video", "video/quicktime", ".mov", "mov"),
    "webm": _Format("video", "video/webm", ".webm", "webm"),
    "avi": _Format("video", "video/x-msvideo", ".avi", "avi"),
}

# ISO base media brands we accept as MP4. HEIF/AVIF images share the ftyp box,
# so the brand list is explicit rather than "anything with ftyp".
_MP4_BRANDS = frozenset(
    {
        b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9",
        b"mp41", b"mp42", b"mp71", b"avc1", b"dash", b"M4V ", b"M4VH", b"M4VP",
        b"f4v ", b"MSNV", b"NDAS", b"XAVC", b"mmp4",
    }
)  # fmt: skip
_QT_BRAND = b"qt  "
# QuickTime files written before ftyp existed start straight with one of these atoms.
_QT_LEADING_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})


def sniff_kind(head: bytes) -> tuple[MediaKind, str] | None:
    """Identify (kind, format) from the first bytes of a file, or None if unsupported."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video", "avi"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _sniff_ebml(head)
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    if len(head) >= 8 and head[4:8] in _QT_LEADING_ATOMS:
        return "video", "mov"
    return None


def _sniff_ebml(head: bytes) -> tuple[MediaKind, str] | None:
    # Matroska and WebM share the EBML magic; the DocType element tells them apart.
    doc_type = head[:64]
    if b"webm" in doc_type:
        return "video", "webm"
    return None


def _sniff_ftyp(head: bytes) -> tuple[MediaKind, str] | None:
    (box_size,) = struct.unpack(">I", head[:4])
    major = head[8:12]
    compatible = [head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)]
    if major == _QT_BRAND:
        return "video", "mov"
    if major in _MP4_BRANDS:
        return "video", "mp4"
    if _QT_BRAND in compatible:
        return "video", "mov"
    if any(brand in _MP4_BRANDS for brand in compatible) and b"mif1" not in compatible:
        return "video", "mp4"
    return None


def _article(kind: MediaKind) -> str:
    return "an image" if kind == "image" else "a video"


def probe_media(
    path: Path,
    expected_kind: MediaKind | None,
    *,
    max_bytes: int | None = None,
    max_video_seconds: float = 30.0,
    max_pixels: int = 50_000_000,
) -> MediaInfo:
    """Identify and fully validate the media at ``path``; raise MediaRejected if unfit.

    ``max_pixels`` bounds width*height for images and video frames alike, and is
    checked from the header before any pixel memory is allocated.
    """
    size = path.stat().st_size
    if size == 0:
        raise MediaRejected("the file is empty")
    if max_bytes is not None and size > max_bytes:
        raise MediaRejected(
            f"the file is {format_size(size)}; the limit is {format_size(max_bytes)}"
        )
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    sniffed = sniff_kind(head)
    if sniffed is None:
        raise MediaRejected(_UNSUPPORTED)
    kind, fmt = sniffed
    if expected_kind is not None and kind != expected_kind:
        raise MediaRejected(f"expected {_article(expected_kind)} but got {_article(kind)} ({fmt})")
    spec = _FORMATS[fmt]
    if kind == "image":
        width, height = _probe_image(path, spec, max_pixels)
        duration: float | None = None
    else:
        width, height, duration = _probe_video(path, spec, max_video_seconds, max_pixels)
    return MediaInfo(
        kind=kind,
        format=fmt,
        mime=spec.mime,
        extension=spec.extension,
        width=width,
        height=height,
        duration_s=duration,
        size=size,
    )


def _check_pixels(width: int, height: int, max_pixels: int, what: str) -> None:
    if width * height > max_pixels:
        raise MediaRejected(
            f"the {what} is {width}×{height} pixels; "
            f"the limit is {max_pixels / 1_000_000:g} megapixels"
        )


def _reason(exc: BaseException, path: Path) -> str:
    """The decoder's complaint without our server-side file path in it."""
    strerror = getattr(exc, "strerror", None)
    text = strerror if isinstance(strerror, str) and strerror else str(exc)
    for form in (f"'{path}'", f'"{path}"', str(path)):
        text = text.replace(form, "")
    return text.strip(" :") or type(exc).__name__


_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError)


def _probe_image(path: Path, spec: _Format, max_pixels: int) -> tuple[int, int]:
    try:
        # formats=[...] keeps Pillow from trying every other decoder on the bytes.
        with Image.open(path, formats=[spec.decoder]) as img:
            width, height = img.size
            _check_pixels(width, height, max_pixels, "image")
            img.load()
    except Image.DecompressionBombError:
        # Pillow refuses absurd headers on open, before we can read the size.
        raise MediaRejected(
            f"the image's declared size is too large; "
            f"the limit is {max_pixels / 1_000_000:g} megapixels"
        ) from None
    except _PILLOW_ERRORS as exc:
        raise MediaRejected(f"the image is truncated or corrupt: {_reason(exc, path)}") from None
    return width, height


def _probe_video(
    path: Path, spec: _Format, max_seconds: float, max_pixels: int
) -> tuple[int, int, float]:
    # Pin the demuxer (also for anything it opens nested, e.g. AVI subtitle
    # streams) and allow only local files, so a crafted file cannot make FFmpeg
    # probe other formats such as HLS playlists that read further paths.
    options = {"format_whitelist": spec.decoder, "protocol_whitelist": "file"}
    try:
        with av.open(str(path), mode="r", format=spec.decoder, options=options) as container:
            if not container.streams.video:
                raise MediaRejected("the video has no video stream")
            stream = container.streams.video[0]
            _check_pixels(
                stream.codec_context.width, stream.codec_context.height, max_pixels, "video"
            )
            duration = _duration(container, stream)
            if duration > max_seconds:
                raise MediaRejected(
                    f"the video is {duration:.1f} s long; the limit is {max_seconds:g} s"
                )
            frame = next(iter(container.decode(stream)), None)
            if frame is None:
                raise MediaRejected("the video has no decodable frames")
            return frame.width, frame.height, duration
    except (av.error.FFmpegError, OSError, ValueError, EOFError) as exc:
        raise MediaRejected(f"the video is corrupt or unreadable: {_reason(exc, path)}") from None


def _duration(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    """Container duration, else the stream's, else the last packet's end time."""
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    # No header duration (e.g. a WebM from a live recorder): demux to find the end.
    # Bounded by the file size limit, and demuxing without decoding is cheap.
    end = 0.0
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base is not None:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    if end <= 0:
        raise MediaRejected("could not determine how long the video is")
    container.seek(0)  # rewind so the first frame can still be decoded
    return end
