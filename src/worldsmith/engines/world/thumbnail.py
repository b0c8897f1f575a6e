"""A perspective preview rendered from the panorama, plus the shared bilinear sampler.

Thumbnails of equirectangular images look warped; a listing wants what a person standing in the
world would see. We inverse-map every output pixel through a pinhole camera to a ray, convert it
to longitude/latitude and sample the pano bilinearly (wrapping in longitude).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def sample_equirect(pano: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Bilinear lookup of pano (H, W, C) at lon/lat arrays; wraps in lon, clamps in lat."""
    h, w = pano.shape[:2]
    x = (lon / np.pi + 1.0) * 0.5 * w - 0.5
    y = np.clip((0.5 - lat / np.pi) * h - 0.5, 0.0, h - 1.0)
    x0 = np.floor(x)
    y0 = np.floor(y)
    fx = (x - x0).astype(np.float32)[..., None]
    fy = (y - y0).astype(np.float32)[..., None]
    xi0 = x0.astype(np.int64) % w
    xi1 = (xi0 + 1) % w
    yi0 = y0.astype(np.int64)
    yi1 = np.minimum(yi0 + 1, h - 1)
    top = pano[yi0, xi0] * (1 - fx) + pano[yi0, xi1] * fx
    bot = pano[yi1, xi0] * (1 - fx) + pano[yi1, xi1] * fx
    return (top * (1 - fy) + bot * fy).astype(np.float32)


def perspective_view(
    pano: np.ndarray,
    width: int = 640,
    height: int = 360,
    hfov_deg: float = 90.0,
    yaw_deg: float = 0.0,
    pitch_deg: float = 0.0,
) -> np.ndarray:
    """Pinhole view (height, width, 3) looking at azimuth `yaw_deg`, elevation `pitch_deg`."""
    f = (width / 2.0) / np.tan(np.radians(hfov_deg) / 2.0)
    u = (np.arange(width) + 0.5 - width / 2.0) / f
    v = (np.arange(height) + 0.5 - height / 2.0) / f
    x, y = np.meshgrid(u, v)  # camera frame, Y-down: x right, y down, z forward
    z = np.ones_like(x)
    p = np.radians(pitch_deg)
    # pitch up (positive) rotates the forward axis toward -y
    y2 = y * np.cos(p) - z * np.sin(p)
    z2 = y * np.sin(p) + z * np.cos(p)
    lon = np.arctan2(x, z2) + np.radians(yaw_deg)
    lon = (lon + np.pi) % (2 * np.pi) - np.pi
    lat = np.arctan2(-y2, np.hypot(x, z2))
    return sample_equirect(pano, lon, lat)


def thumbnail_jpeg(pano: np.ndarray, yaw_deg: float = 0.0, quality: int = 88) -> bytes:
    """JPEG bytes of a 640x360, 90-degree view of the pano."""
    view = perspective_view(pano, yaw_deg=yaw_deg, pitch_deg=-5.0)
    img = Image.fromarray(np.clip(view * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGB")
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, optimize=False)
    return buf.getvalue()
