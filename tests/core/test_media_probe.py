"""Media probing: every file here is made by the test, so nothing depends on fixtures."""

from __future__ import annotations

import os
import re
import struct
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from worldsmith.core.media_probe import MediaRejected, probe_media, sniff_kind

_MB = 1_000_000


def _image(path: Path, fmt: str, size: tuple[int, int] = (64, 48)) -> Path:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format=fmt)
    return path


def _video(
    path: Path, container: str, codec: str, seconds: int = 2, options: dict[str, str] | None = None
) -> Path:
    rate = 10
    with av.open(str(path), "w", format=container, options=options or {}) as out:
        stream = out.add_stream(codec, rate=rate)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(seconds * rate):
            pixels = np.full((48, 64, 3), (i * 7) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header declares a huge canvas (a decompression bomb shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _needs_codec(name: str) -> None:
    if name not in av.codecs_available:
        pytest.skip(f"PyAV build has no {name} encoder")


# --- images ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pil_format", "fmt", "mime", "ext"),
    [
        ("PNG", "png", "image/png", ".png"),
        ("JPEG", "jpeg", "image/jpeg", ".jpg"),
        ("WEBP", "webp", "image/webp", ".webp"),
    ],
)
def test_valid_images(tmp_path: Path, pil_format: str, fmt: str, mime: str, ext: str) -> None:
    path = _image(tmp_path / "upload.bin", pil_format)
    info = probe_media(path, "image")
    assert (info.kind, info.format, info.mime, info.extension) == ("image", fmt, mime, ext)
    assert (info.width, info.height) == (64, 48)
    assert info.duration_s is None
    assert info.size == path.stat().st_size


def test_name_is_ignored(tmp_path: Path) -> None:
    path = _image(tmp_path / "looks_like.mp4", "PNG")
    assert probe_media(path, None).format == "png"


@pytest.mark.parametrize("pil_format", ["PNG", "JPEG"])
def test_truncated_image_rejected(tmp_path: Path, pil_format: str) -> None:
    path = _truncate(_image(tmp_path / "cut", pil_format, size=(256, 256)))
    with pytest.raises(MediaRejected, match=r"^the image is truncated or corrupt: "):
        probe_media(path, "image")


def test_decompression_bomb_header_refused(tmp_path: Path) -> None:
    path = _png_claiming(tmp_path / "bomb.png", 100_000, 100_000)
    with pytest.raises(MediaRejected, match=r"too large; the limit is 50 megapixels"):
        probe_media(path, "image")


def test_pixel_limit_checked_before_decoding(tmp_path: Path) -> None:
    # 8000×8000 is under Pillow's own bomb threshold, so our limit must catch it,
    # and from the header: the pixel data here is far too short to decode.
    path = _png_claiming(tmp_path / "big.png", 8000, 8000)
    with pytest.raises(MediaRejected) as caught:
        probe_media(path, "image")
    assert caught.value.message == "the image is 8000×8000 pixels; the limit is 50 megapixels"


def test_custom_pixel_limit(tmp_path: Path) -> None:
    path = _image(tmp_path / "a.png", "PNG", size=(100, 100))
    with pytest.raises(
        MediaRejected, match=re.escape("100×100 pixels; the limit is 0.001 megapixels")
    ):
        probe_media(path, "image", max_pixels=1000)


# --- generic rejections ----------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with pytest.raises(MediaRejected) as caught:
        probe_media(path, None)
    assert caught.value.message == "the file is empty"


def test_over_max_bytes(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"\0" * int(25.3 * _MB))
    with pytest.raises(MediaRejected) as caught:
        probe_media(path, None, max_bytes=20 * _MB)
    assert caught.value.message == "the file is 25.3 MB; the limit is 20 MB"


@pytest.mark.parametrize(
    "content",
    [os.urandom(4096), b"hello, this is plain text\n" * 20, b"<html><body>hi</body></html>"],
    ids=["random", "text", "html"],
)
def test_unsupported_content(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "thing.png"
    path.write_bytes(b"X" + content)  # leading byte keeps random data off any magic
    with pytest.raises(MediaRejected) as caught:
        probe_media(path, None)
    assert caught.value.message == (
        "not a supported image (png, jpeg, webp) or video (mp4, mov, webm, avi)"
    )


def test_unsupported_image_format(tmp_path: Path) -> None:
    path = _image(tmp_path / "a.gif", "GIF")
    with pytest.raises(MediaRejected, match=r"^not a supported image"):
        probe_media(path, "image")


def test_kind_mismatch_video_for_image(tmp_path: Path) -> None:
    _needs_codec("mpeg4")
    path = _video(tmp_path / "clip.png", "mp4", "mpeg4")
    with pytest.raises(MediaRejected) as caught:
        probe_media(path, "image")
    assert caught.value.message == "expected an image but got a video (mp4)"


def test_kind_mismatch_image_for_video(tmp_path: Path) -> None:
    path = _image(tmp_path / "still.mp4", "PNG")
    with pytest.raises(MediaRejected) as caught:
        probe_media(path, "video")
    assert caught.value.message == "expected a video but got an image (png)"


# --- videos ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("container", "codec", "fmt", "mime", "ext"),
    [
        ("mp4", "libx264", "mp4", "video/mp4", ".mp4"),
        ("mp4", "mpeg4", "mp4", "video/mp4", ".mp4"),
        ("mov", "mpeg4", "mov", "video/quicktime", ".mov"),
        ("webm", "libvpx", "webm", "video/webm", ".webm"),
        ("avi", "mpeg4", "avi", "video/x-msvideo", ".avi"),
    ],
)
def test_valid_videos(
    tmp_path: Path, container: str, codec: str, fmt: str, mime: str, ext: str
) -> None:
    _needs_codec(codec)
    path = _video(tmp_path / "upload.bin", container, codec)
    info = probe_media(path, "video")
    assert (info.kind, info.format, info.mime, info.extension) == ("video", fmt, mime, ext)
    assert (info.width, info.height) == (64, 48)
    assert info.duration_s == pytest.approx(2.0, abs=0.15)
    assert info.size == path.stat().st_size


def test_video_too_long(tmp_path: Path) -> None:
    _needs_codec("mpeg4")
    path = _video(tmp_path / "clip.mp4", "mp4", "mpeg4")
    with pytest.raises(MediaRejected) as caught:
        probe_media(path, "video", max_video_seconds=1)
    assert caught.value.message == "the video is 2.0 s long; the limit is 1 s"


def test_duration_found_without_header(tmp_path: Path) -> None:
    # A "live" WebM carries no duration; the length must come from the packets.
    _needs_codec("libvpx")
    path = _video(tmp_path / "live.webm", "webm", "libvpx", options={"live": "1"})
    assert probe_media(path, "video").duration_s == pytest.approx(2.0, abs=0.15)
    with pytest.raises(MediaRejected, match=r"^the video is 2\.0 s long"):
        probe_media(path, "video", max_video_seconds=1)


def test_truncated_video_rejected(tmp_path: Path) -> None:
    _needs_codec("mpeg4")
    # mdat comes before moov here, so cutting the file loses the index.
    path = _truncate(_video(tmp_path / "clip.mp4", "mp4", "mpeg4"))
    with pytest.raises(MediaRejected, match=r"^the video is corrupt or unreadable: "):
        probe_media(path, "video")


def test_video_magic_with_garbage_body(tmp_path: Path) -> None:
    path = tmp_path / "fake.avi"
    path.write_bytes(b"RIFF\x00\x10\x00\x00AVI " + os.urandom(2048))
    with pytest.raises(MediaRejected, match=r"^the video"):
        probe_media(path, "video")


def test_video_pixel_limit(tmp_path: Path) -> None:
    _needs_codec("mpeg4")
    path = _video(tmp_path / "clip.mp4", "mp4", "mpeg4")
    with pytest.raises(MediaRejected, match=r"^the video is 64×48 pixels"):
        probe_media(path, "video", max_pixels=1000)


# --- sniffing --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 8, ("image", "png")),
        (b"\xff\xd8\xff\xe0" + b"\0" * 8, ("image", "jpeg")),
        (b"RIFF\0\0\0\0WEBPVP8 ", ("image", "webp")),
        (b"RIFF\0\0\0\0AVI LIST", ("video", "avi")),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", ("video", "mp4")),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", ("video", "mov")),
        (b"\x1a\x45\xdf\xa3\x9fB\x86\x81\x01B\x82\x84webm", ("video", "webm")),
        (b"\x1a\x45\xdf\xa3\xa3B\x86\x81\x01B\x82\x88matroska", None),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", None),  # HEIF image
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", None),
        (b"GIF89a", None),
        (b"", None),
        (b"RIFF", None),
    ],
)
def test_sniff_kind(head: bytes, expected: tuple[str, str] | None) -> None:
    assert sniff_kind(head) == expected
