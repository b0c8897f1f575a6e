"""Per-pixel depth for a panorama, and where that depth jumps.

Two sources:

* Procedural scenes know their geometry exactly, so their depth is the renderer's ray length
  (`depth_from_geometry`); we only locate its discontinuities.
* Image-derived panoramas have no geometry, so `estimate_depth` builds a "pop-up" model from
  classic single-image cues: a flat ground plane below the horizon, a far dome for pixels that
  look like sky (bright/bluish, smooth, connected to the top of the pano), and, for everything
  else above the horizon, vertical walls standing on the ground at a per-column distance taken
  from the dark-channel haze prior (hazier, paler content is farther). The walls also occlude the
  ground beyond them. The log-depth is then smoothed with a guided filter steered by the image,
  which smooths within regions but keeps depth edges where the image has edges.

Discontinuities are found with a robust test on neighbouring log-depth differences: a jump is a
difference that is both large and much larger than the smaller of its two neighbours, so steep
but smooth surfaces (the ground near the horizon) are not mistaken for edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from worldsmith.engines.world.sphere import CAMERA_HEIGHT, SKY_DISTANCE, ground_distance, lon_lat

_WRAP_X = ("nearest", "wrap")


@dataclass
class DepthResult:
    depth: np.ndarray  # (H, W) float32 ray length in raw units
    edges: np.ndarray  # (H, W) bool: pixel touches a depth discontinuity
    sky: np.ndarray  # (H, W) bool: pixel lies on the far sky dome


def discontinuities(depth: np.ndarray, tau: float = 0.05, ratio: float = 2.5) -> np.ndarray:
    """Mask of pixels on either side of a log-depth jump (horizontal test wraps around)."""
    logd = np.log(np.maximum(depth, 1e-6)).astype(np.float32)
    dx = np.abs(np.roll(logd, -1, axis=1) - logd)  # between column j and j+1
    nb = np.minimum(np.roll(dx, 1, axis=1), np.roll(dx, -1, axis=1))
    jx = (dx > tau) & (dx > ratio * nb)
    dy = np.abs(logd[1:] - logd[:-1])  # between row i and i+1
    pad = np.pad(dy, ((1, 1), (0, 0)), mode="edge")
    nby = np.minimum(pad[:-2], pad[2:])
    jy = (dy > tau) & (dy > ratio * nby)
    mask = jx | np.roll(jx, 1, axis=1)
    mask[:-1] |= jy
    mask[1:] |= jy
    return mask


def depth_from_geometry(depth: np.ndarray) -> DepthResult:
    """Wrap an exact depth map (from the procedural renderer)."""
    d = depth.astype(np.float32)
    return DepthResult(depth=d, edges=discontinuities(d), sky=d >= SKY_DISTANCE * 0.999)


def _box(x: np.ndarray, r: int) -> np.ndarray:
    return ndimage.uniform_filter(x, size=2 * r + 1, mode=_WRAP_X)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter: edge-preserving smoothing of `src` steered by `guide`.

    O(N) with box filters; output follows the guide's edges because locally q = a * I + b.
    """
    mean_i = _box(guide, radius)
    mean_p = _box(src, radius)
    cov = _box(guide * src, radius) - mean_i * mean_p
    var = _box(guide * guide, radius) - mean_i * mean_i
    a = cov / (var + np.float32(eps))
    b = mean_p - a * mean_i
    return (_box(a, radius) * guide + _box(b, radius)).astype(np.float32)


def _sky_mask(pano: np.ndarray, lum: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Sky = smooth and (bright & bluish/grey, or very high up), connected to the top row."""
    w = lum.shape[1]
    s = max(1, w // 640)
    blur = ndimage.uniform_filter(lum, size=2 * s + 1, mode=_WRAP_X)
    gy = np.abs(np.diff(blur, axis=0, append=blur[-1:]))
    gx = np.abs(np.roll(blur, -1, axis=1) - blur)
    grad = ndimage.uniform_filter(gx + gy, size=4 * s + 1, mode=_WRAP_X) * (w / 1280.0)
    r, g, b = pano[..., 0], pano[..., 1], pano[..., 2]
    mx = pano.max(axis=2)
    sat = (mx - pano.min(axis=2)) / np.maximum(mx, 1e-3)
    bluish = (b >= r * 0.95) & (b >= g * 0.85)
    bright = lum > 0.35
    high = (lat > 1.0)[:, None]
    cand = (grad < 0.03) & ((bright & (bluish | (sat < 0.2))) | high)
    cand &= (lat > 0.0)[:, None]
    # connected to the top: once a column hits non-sky, everything below it is not sky
    return np.minimum.accumulate(cand.astype(np.uint8), axis=0).astype(bool)


def estimate_depth(pano: np.ndarray) -> DepthResult:
    """Pop-up depth for an image-derived panorama (H, W, 3) float32 in [0, 1]."""
    h, w = pano.shape[:2]
    _, lat = lon_lat(w, h)
    lum = (pano @ np.asarray([0.299, 0.587, 0.114], np.float32)).astype(np.float32)
    sky = _sky_mask(pano, lum, lat)
    above = (lat > 0.0)[:, None]
    obj = above & ~sky

    # dark-channel haze prior -> distance of the vertical structure in each column
    s = max(3, w // 200)
    dark = ndimage.minimum_filter(pano.min(axis=2), size=s, mode=_WRAP_X)
    airlight = float(np.percentile(lum[sky], 99.0)) if sky.sum() > 100 else float(lum.max())
    trans = np.clip(1.0 - 0.9 * dark / max(airlight, 1e-3), 0.05, 1.0)
    haze_dist = np.clip(-np.log(trans) * 45.0, 4.0, 70.0).astype(np.float32)
    cnt = obj.sum(axis=0)
    logsum = np.where(obj, np.log(haze_dist), 0.0).sum(axis=0)
    col_d = np.exp(logsum / np.maximum(cnt, 1)).astype(np.float32)
    col_d = ndimage.median_filter(col_d, size=max(3, w // 160) | 1, mode="wrap")
    has_wall = ndimage.maximum_filter1d((cnt >= 3).astype(np.uint8), size=5, mode="wrap") > 0

    cos_l = np.maximum(np.cos(lat), 0.02)[:, None]
    wall = np.minimum(col_d[None, :] / cos_l, SKY_DISTANCE * 0.95)
    ground = ground_distance(lat)[:, None]
    below = np.where(has_wall[None, :], np.minimum(ground, wall), ground)
    depth = np.where(above, np.where(obj, wall, SKY_DISTANCE), below).astype(np.float32)

    # edge-aware smoothing of log-depth (sky left exactly on the dome)
    radius = max(2, w // 640)
    logd = guided_filter(lum, np.log(depth), radius, 1e-3)
    logd = np.clip(logd, np.log(CAMERA_HEIGHT * 0.5), np.log(SKY_DISTANCE))
    depth = np.where(sky, SKY_DISTANCE, np.exp(logd)).astype(np.float32)
    return DepthResult(depth=depth, edges=discontinuities(depth), sky=sky)
