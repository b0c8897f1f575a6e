"""Build the 2:1 equirectangular panorama from user images (or sampled video frames).

* `is_pano=True`: the image is taken as an equirectangular panorama and resized to the model's
  size. A non-2:1 image is stretched to 2:1 (the result records its original aspect ratio); we do
  not refuse it because phone "panoramas" are often slightly off 2:1.
* Ordinary images: each is treated as a pinhole photo with an assumed horizontal field of view,
  looking at the horizon at its azimuth. Every pano pixel's ray is projected into each camera
  (inverse mapping, bilinear sampling), so the result has no holes or resampling cracks. Where
  photos overlap they are blended with feathered weights.
* The rest of the sphere is filled by *extension*, not invention: each uncovered pixel in a row
  that any photo reaches is interpolated between the nearest covered edge colours on either side
  (around the wrap), rows above/below all photos continue the top/bottom edges, and that fill is
  blurred more and more toward the poles (where a row is tiny on the sphere) and given a
  procedural texture whose strength matches the photos' own fine-detail contrast, so it does not
  look like a flat smear. Everything wraps in longitude, so the seam at +-180 degrees is invisible.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

from worldsmith.engines.base import EngineInputError
from worldsmith.engines.world.noise import fbm, smoothstep
from worldsmith.engines.world.sphere import ground_distance, lon_lat
from worldsmith.engines.world.thumbnail import sample_equirect

DEFAULT_HFOV_DEG = 90.0
_WRAP_X = ("nearest", "wrap", "nearest")


@dataclass
class Placed:
    """An RGB image (h, w, 3) float32 in [0, 1] with its azimuth and horizontal FOV (degrees)."""

    pixels: np.ndarray
    azimuth_deg: float
    hfov_deg: float = DEFAULT_HFOV_DEG


def load_image(path: Path, what: str = "image") -> np.ndarray:
    """Decode an image file to float32 RGB, honouring EXIF orientation; EngineInputError if not."""
    try:
        with Image.open(path) as im:
            im.load()
            img = ImageOps.exif_transpose(im).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise EngineInputError(
            f"could not decode the {what} {path.name!r} ({exc.__class__.__name__}); "
            "upload a PNG, JPEG or WebP image"
        ) from exc
    if img.width < 8 or img.height < 8:
        raise EngineInputError(f"the {what} {path.name!r} is too small ({img.width}x{img.height})")
    return np.asarray(img, dtype=np.float32) / np.float32(255.0)


def from_equirect(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize an equirectangular image to the model's pano size (Lanczos)."""
    u8 = Image.fromarray(np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGB")
    out = u8.resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(out, dtype=np.float32) / np.float32(255.0)


def _prefilter(img: np.ndarray, target_w: int) -> np.ndarray:
    """Downscale an image to about the pixel density it will get in the pano (anti-aliasing)."""
    h, w = img.shape[:2]
    if w <= target_w:
        return img
    th = max(round(h * target_w / w), 2)
    u8 = Image.fromarray(np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGB")
    out = u8.resize((target_w, th), Image.Resampling.LANCZOS)
    return np.asarray(out, dtype=np.float32) / np.float32(255.0)


def project(placed: list[Placed], width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Feather-weighted sum of all images on the sphere: (colour sum (H,W,3), weight (H,W))."""
    lon, lat = lon_lat(width, height)
    acc = np.zeros((height, width, 3), np.float32)
    wsum = np.zeros((height, width), np.float32)
    for p in placed:
        hfov = np.radians(np.clip(p.hfov_deg, 10.0, 170.0))
        img = _prefilter(p.pixels, int(width * hfov / (2 * np.pi) * 1.25))
        ih, iw = img.shape[:2]
        f = (iw / 2.0) / np.tan(hfov / 2.0)
        half_v = np.arctan((ih / 2.0) / f)
        rows = np.nonzero(np.abs(lat) <= half_v + 2 * np.pi / height)[0]
        if rows.size == 0:
            continue
        sl = lat[rows][:, None]
        dl = np.angle(np.exp(1j * (lon - np.radians(p.azimuth_deg)))).astype(np.float32)[None, :]
        x = np.cos(sl) * np.sin(dl)  # camera frame: the camera looks along its own +z
        y = -np.sin(sl) * np.ones_like(dl)
        z = np.cos(sl) * np.cos(dl)
        zs = np.where(z > 1e-4, z, 1.0)
        u = f * x / zs + iw / 2.0
        v = f * y / zs + ih / 2.0
        inside = (z > 1e-4) & (u >= 0) & (u <= iw) & (v >= 0) & (v <= ih)
        edge = np.minimum(np.minimum(u, iw - u) / iw, np.minimum(v, ih - v) / ih)
        wgt = np.where(inside, smoothstep(0.0, 0.15, edge) ** 2 + 1e-4, 0.0).astype(np.float32)
        col = _bilinear(img, u - 0.5, v - 0.5)
        acc[rows] += col * wgt[..., None]
        wsum[rows] += wgt
    return acc, wsum


def _bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    x = np.clip(x, 0.0, w - 1.0)
    y = np.clip(y, 0.0, h - 1.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), w - 2 if w > 1 else 0)
    y0 = np.minimum(np.floor(y).astype(np.int64), h - 2 if h > 1 else 0)
    fx = (x - x0).astype(np.float32)[..., None]
    fy = (y - y0).astype(np.float32)[..., None]
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bot = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return (top * (1 - fy) + bot * fy).astype(np.float32)


def _extend_rows(src: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Fill uncovered pixels of every row by interpolating the nearest covered ones (wrapping)."""
    h, w = covered.shape
    cols = np.arange(3 * w)
    cov3 = np.tile(covered, (1, 3))
    left = np.maximum.accumulate(np.where(cov3, cols, -1), axis=1)[:, w : 2 * w]
    right = np.minimum.accumulate(np.where(cov3, cols, 10 * w)[:, ::-1], axis=1)[:, ::-1][
        :, w : 2 * w
    ]
    here = np.arange(w, 2 * w)[None, :]
    ok = (left >= 0) & (right < 10 * w)
    left = np.where(ok, left, here)
    right = np.where(ok, right, here)
    t = ((here - left) / np.maximum(right - left, 1)).astype(np.float32)[..., None]
    r = np.arange(h)[:, None]
    a = src[r, left % w]
    b = src[r, right % w]
    return (a + (b - a) * t).astype(np.float32)


def _row_blur(img: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Horizontal box blur with a per-row radius (wrapping), via prefix sums."""
    h, w = img.shape[:2]
    radius = np.clip(radius.astype(np.int64), 0, w // 2 - 1)
    csum = np.zeros((h, 3 * w + 1, img.shape[2]), np.float32)
    np.cumsum(np.concatenate([img, img, img], axis=1), axis=1, out=csum[:, 1:])
    c = np.arange(w, 2 * w)[None, :]
    lo = c - radius[:, None]
    hi = c + radius[:, None] + 1
    r = np.arange(h)[:, None]
    return ((csum[r, hi] - csum[r, lo]) / (hi - lo)[..., None]).astype(np.float32)


def fill_sphere(acc: np.ndarray, wsum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Complete a partially covered pano by edge extension + procedural texture (see module)."""
    h, w = wsum.shape
    covered = wsum > 1e-3
    if not covered.any():
        raise EngineInputError("none of the input images could be placed on the panorama")
    color = acc / np.maximum(wsum, 1e-6)[..., None]
    # edge colours averaged over a small neighbourhood (normalised convolution)
    s = max(2.0, w / 400.0)
    num = ndimage.gaussian_filter(color * covered[..., None], (s, s, 0), mode=_WRAP_X)
    den = ndimage.gaussian_filter(covered.astype(np.float32), s, mode=("nearest", "wrap"))
    smooth = num / np.maximum(den, 1e-6)[..., None]

    # local fine-detail energy, carried along with the colours so the fill gets the texture
    # strength of the nearest photo content (smooth sky stays smooth, sand stays grainy)
    resid = (((color - smooth) ** 2).mean(axis=2) * covered).astype(np.float32)
    energy = ndimage.gaussian_filter(resid, 2 * s, mode=("nearest", "wrap"))
    energy /= np.maximum(ndimage.gaussian_filter(den, s, mode=("nearest", "wrap")), 1e-6)
    src = np.concatenate([smooth, np.sqrt(np.maximum(energy, 0.0))[..., None]], axis=2)
    fill = _extend_rows(src.astype(np.float32), covered)
    row_has = covered.any(axis=1)
    rows = np.nonzero(row_has)[0]
    top, bot = int(rows[0]), int(rows[-1])
    band = max(3, (bot - top) // 20)
    fill[:top] = fill[top : top + band].mean(axis=0)
    fill[bot + 1 :] = fill[bot - band + 1 : bot + 1].mean(axis=0)

    lon, lat = lon_lat(w, h)
    coslat = np.cos(lat)
    outside = np.where(np.arange(h) < top, top - np.arange(h), np.arange(h) - bot).clip(0, None)
    dist_frac = (outside / max(h / 2, 1)).astype(np.float32)
    radius = (w / 90.0) * (1.0 + 6.0 * dist_frac) / np.maximum(coslat, 0.02)
    fill = _row_blur(fill, radius)
    fill = ndimage.gaussian_filter(fill, (h / 80.0, 0, 0), mode=_WRAP_X)
    to_mean = smoothstep(0.55, 1.0, 1.0 - coslat)[:, None, None]
    fill += (fill.mean(axis=1, keepdims=True) - fill) * to_mean

    # procedural continuation: luminance texture scaled to the carried detail energy
    detail = np.clip(fill[..., 3], 0.0, 0.15)
    fill = fill[..., :3]
    cells = 64
    k = cells / (2 * np.pi)
    upper = (lat * k).astype(np.float32)
    lower = (np.log(np.maximum(ground_distance(lat) * coslat, 0.05)) * k).astype(np.float32)
    ycoord = np.where(lat > 0, upper, lower - lower.max() - 1.0).astype(np.float32)
    tex = fbm(ycoord, (lon + np.pi) * k, rng, cells, octaves=5)
    tex *= np.float32(1.0 / max(float(tex.std()), 1e-3))
    fill += (detail * tex * smoothstep(0.05, 0.5, coslat)[:, None])[..., None]

    alpha = np.clip(wsum, 0.0, 1.0)[..., None]
    return np.clip(color * alpha + fill * (1.0 - alpha), 0.0, 1.0).astype(np.float32)


def from_images(placed: list[Placed], width: int, height: int, seed: int) -> np.ndarray:
    """Panorama from pinhole images at their azimuths, the remaining sphere filled."""
    acc, wsum = project(placed, width, height)
    return fill_sphere(acc, wsum, np.random.default_rng(seed))


def spread_azimuths(given: list[float | None]) -> list[float]:
    """User azimuths where given; missing ones spread evenly over 360 degrees by position."""
    n = len(given)
    return [float(a) % 360.0 if a is not None else i * 360.0 / n for i, a in enumerate(given)]


def view_of(pano: np.ndarray, placed: Placed) -> np.ndarray:
    """Re-sample the pano through a placed image's camera (used to check placement)."""
    ih, iw = placed.pixels.shape[:2]
    hfov = np.radians(placed.hfov_deg)
    f = (iw / 2.0) / np.tan(hfov / 2.0)
    u = (np.arange(iw) + 0.5 - iw / 2.0) / f
    v = (np.arange(ih) + 0.5 - ih / 2.0) / f
    x, y = np.meshgrid(u, v)
    lon = np.arctan2(x, 1.0) + np.radians(placed.azimuth_deg)
    lat = np.arctan2(-y, np.hypot(x, 1.0))
    return sample_equirect(pano, (lon + np.pi) % (2 * np.pi) - np.pi, lat)
