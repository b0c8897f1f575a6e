"""Small, real media files made in the tests."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
from PIL import Image


def png_bytes(
    width: int = 64, height: int = 48, color: tuple[int, int, int] = (40, 120, 200)
) -> bytes:
    grid = np.zeros((height, width, 3), dtype=np.uint8)
    grid[...] = color
    grid[height // 2 :, :, 1] = 160  # a "ground" half so the image is not flat
    buf = io.BytesIO()
    Image.fromarray(grid).save(buf, format="PNG")
    return buf.getvalue()


def jpeg_bytes(width: int = 64, height: int = 48) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 90, dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def mp4_bytes(seconds: float = 1.0, fps: int = 10, size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(int(seconds * fps)):
            frame_data = np.zeros((size[1], size[0], 3), dtype=np.uint8)
            frame_data[..., 0] = (i * 20) % 255
            frame_data[size[1] // 2 :, :, 1] = 150
            frame = av.VideoFrame.from_ndarray(frame_data, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def noisy_png_bytes(width: int = 200, height: int = 200, seed: int = 0) -> bytes:
    """A PNG that does not compress: for size-limit tests."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()
