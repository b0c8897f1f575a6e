"""Rings of vertical structure (mountains, hills, dunes, trees, buildings) around the camera.

Each structure is a vertical "sheet" standing on the ground plane at a horizontal distance D, so
a pixel at latitude `lat` that hits it is at height z = h + D * tan(lat) above the ground and at
ray length D / cos(lat). Shapes are decided per pixel from (offset along the ring, z), which lets
trees have tiers and buildings have windows without any per-object loops over pixels. Sheets are
composited with a depth test, so a near tree correctly hides a far mountain and the ground in
front of a structure (below its base) is never painted over.
"""

from __future__ import annotations

import numpy as np

from worldsmith.engines.world.noise import fbm, periodic_profile, smoothstep
from worldsmith.engines.world.scene import Layer, SceneSpec
from worldsmith.engines.world.sphere import CAMERA_HEIGHT


def _c(rgb: tuple[float, float, float]) -> np.ndarray:
    return np.asarray(rgb, dtype=np.float32)


def _band(lat: np.ndarray, top: float, bottom: float) -> tuple[int, int]:
    """Row range [r0, r1) whose latitudes lie within [bottom, top] (lat decreases with row)."""
    r0 = int(np.searchsorted(-lat, -top, side="left"))
    r1 = int(np.searchsorted(-lat, -bottom, side="right"))
    return max(r0 - 1, 0), min(r1 + 1, lat.shape[0])


def _composite(
    img: np.ndarray,
    depth: np.ndarray,
    r0: int,
    cover: np.ndarray,
    color: np.ndarray,
    ray_depth: np.ndarray,
    layer: Layer,
    spec: SceneSpec,
) -> None:
    """Depth-tested write of a sheet's pixels, with lighting and distance haze applied."""
    r1 = r0 + cover.shape[0]
    cur = depth[r0:r1]
    cover = cover & (ray_depth < cur)
    if not cover.any():
        return
    tint = _c((0.75, 0.85, 1.2)) if spec.night else _c((1.0, 1.0, 1.0))
    color = color * (np.float32(spec.light) * tint)
    fog = _c(spec.fog_color) * np.float32(0.6 if spec.night else 1.0)
    fogf = (1.0 - np.exp(-ray_depth / spec.fog_distance)).astype(np.float32)
    color = color + (fog - color) * fogf[..., None]
    sub = img[r0:r1]
    sub[cover] = color[cover]
    cur[cover] = ray_depth[cover]


def _terrain(
    img: np.ndarray,
    depth: np.ndarray,
    layer: Layer,
    spec: SceneSpec,
    lon: np.ndarray,
    lat: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Mountains, hills and dunes: one continuous ridge line at a fixed distance."""
    dist = layer.distance
    if layer.kind == "mountains":
        prof = periodic_profile(lon, rng, 40, 1.2) ** 1.4
        tops = layer.height * (0.2 + 0.8 * prof)
    elif layer.kind == "dunes":
        prof = periodic_profile(lon, rng, 14, 1.7)
        tops = layer.height * (0.35 + 0.65 * prof)
    else:
        prof = periodic_profile(lon, rng, 10, 1.8)
        tops = layer.height * (0.3 + 0.7 * prof)
    top_el = np.arctan((tops - CAMERA_HEIGHT) / dist)
    base_el = float(-np.arctan(CAMERA_HEIGHT / dist))
    r0, r1 = _band(lat, float(top_el.max()), base_el)
    sl = lat[r0:r1]
    cover = (sl[:, None] < top_el[None, :]) & (sl[:, None] > base_el)
    z = CAMERA_HEIGHT + dist * np.tan(sl)[:, None]  # height above ground on the sheet
    frac = np.clip(z / tops[None, :], 0.0, 1.0).astype(np.float32)
    cells = 64 if layer.kind == "mountains" else 32
    k = cells / (2 * np.pi)
    tex = fbm((sl * k * 0.7).astype(np.float32), (lon + np.pi) * k, rng, cells, octaves=5)
    # bump shading from the texture's horizontal gradient, lit from the sun's side
    side = np.sign(np.sin(spec.sun_azimuth - lon)).astype(np.float32)[None, :]
    bump = (np.roll(tex, -1, axis=1) - np.roll(tex, 1, axis=1)) * side * (k * 6.0)
    shade = 0.78 + 0.22 * frac + 0.18 * tex + np.clip(bump, -0.25, 0.25)
    color = _c(layer.color) * shade[..., None]
    if layer.kind == "mountains" and layer.snow:
        snow = smoothstep(0.5, 0.56, frac + 0.25 * tex)
        snow_col = _c(layer.color2) * (0.85 + 0.15 * np.clip(bump + 0.5, 0.0, 1.0))[..., None]
        color += (snow_col - color) * snow[..., None]
    if layer.kind == "dunes":
        slope = np.gradient(top_el) * (lon.shape[0] / 8.0)
        lit = np.clip(slope * side[0], -1.0, 1.0)[None, :]
        color *= (1.0 + 0.2 * lit)[..., None]
        color += (_c(layer.color2) - color) * (smoothstep(0.8, 1.0, frac) * 0.5)[..., None]
    ray = np.broadcast_to((dist / np.cos(sl))[:, None], cover.shape).astype(np.float32)
    _composite(img, depth, r0, cover, color.astype(np.float32), ray, layer, spec)


def _trees(
    img: np.ndarray,
    depth: np.ndarray,
    layer: Layer,
    spec: SceneSpec,
    lon: np.ndarray,
    lat: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """A ring of trees; every column is tested against its own and both neighbouring slots."""
    crown_ratio = 0.42
    spacing = crown_ratio * layer.height * 0.6 / max(layer.density, 0.05) / layer.distance
    n = max(round(2 * np.pi / spacing), 8)
    heights = layer.height * rng.uniform(0.55, 1.0, n)
    dists = layer.distance * rng.uniform(0.85, 1.15, n)
    jitter = rng.uniform(-0.3, 0.3, n)
    present = rng.random(n) < (1.0 if layer.density >= 1.0 else 0.55)
    shade_k = rng.uniform(0.8, 1.15, n)
    round_crowns = "autumn" in spec.tags
    u = (lon + np.pi) / (2 * np.pi) * n
    slot = np.floor(u).astype(np.int64)
    top = float(np.arctan((heights.max() - CAMERA_HEIGHT) / dists.min()))
    bottom = float(-np.arctan(CAMERA_HEIGHT / dists.max()))
    r0, r1 = _band(lat, top, bottom)
    sl = lat[r0:r1]
    tan_l = np.tan(sl)[:, None].astype(np.float32)
    cells = 96
    kk = cells / (2 * np.pi)
    tex = fbm((sl * kk).astype(np.float32), (lon + np.pi) * kk, rng, cells, octaves=3)
    for off in (-1, 0, 1):
        k = (slot + off) % n
        centre = slot + off + 0.5 + jitter[k]
        dang = (u - centre) * (2 * np.pi / n)  # angular offset from the trunk (W,)
        d = dists[k]
        hgt = heights[k]
        x = (dang * d)[None, :]  # metres-ish offset along the ring
        z = CAMERA_HEIGHT + d[None, :] * tan_l  # height above ground
        zf = z / hgt[None, :]
        half_w = 0.5 * crown_ratio * hgt[None, :]
        if round_crowns:
            ell = (x / (half_w * 1.1)) ** 2 + ((zf - 0.62) / 0.4) ** 2
            crown = ell < 1.0 + 0.25 * tex
        else:
            tiers = 0.72 + 0.28 * (1.0 - np.mod(zf * 4.0, 1.0))
            crown = (np.abs(x) < half_w * (1.0 - zf) * tiers) & (zf > 0.14)
        trunk = (np.abs(x) < 0.03 * hgt[None, :] + 0.02) & (zf < 0.25)
        cover = (crown | trunk) & (zf >= 0.0) & (zf <= 1.0) & present[k][None, :]
        base = _c(layer.color) * (shade_k[k][None, :] * (0.8 + 0.3 * zf + 0.25 * tex))[..., None]
        color = np.where(trunk[..., None] & ~crown[..., None], _c((0.22, 0.15, 0.1)), base)
        if layer.snow and not round_crowns:
            snow = (np.mod(zf * 4.0, 1.0) < 0.22) & (tex > -0.2) & crown
            color = np.where(snow[..., None], _c(layer.color2), color)
        ray = (d[None, :] / np.cos(sl)[:, None]).astype(np.float32)
        _composite(img, depth, r0, cover, color.astype(np.float32), ray, layer, spec)


def _buildings(
    img: np.ndarray,
    depth: np.ndarray,
    layer: Layer,
    spec: SceneSpec,
    lon: np.ndarray,
    lat: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """A ring of box buildings of random width, height and setback, with a window grid."""
    n = int(rng.integers(28, 44))
    widths = rng.uniform(0.5, 1.5, n)
    edges = np.concatenate([[0.0], np.cumsum(widths) / widths.sum() * 2 * np.pi]) - np.pi
    heights = layer.height * rng.uniform(0.3, 1.0, n)
    dists = layer.distance * rng.uniform(0.85, 1.15, n)
    present = rng.random(n) > 0.12
    tone = rng.uniform(0.93, 1.07, (n, 3)) * np.asarray(layer.color)
    tone = tone * rng.uniform(0.7, 1.2, (n, 1))
    idx = np.clip(np.searchsorted(edges, lon, side="right") - 1, 0, n - 1)
    d, hgt = dists[idx], heights[idx]
    top = float(np.arctan((heights.max() - CAMERA_HEIGHT) / dists.min()))
    bottom = float(-np.arctan(CAMERA_HEIGHT / dists.max()))
    r0, r1 = _band(lat, top, bottom)
    sl = lat[r0:r1]
    z = CAMERA_HEIGHT + d[None, :] * np.tan(sl)[:, None]
    cover = (z >= 0.0) & (z <= hgt[None, :]) & present[idx][None, :]
    along = (lon - edges[idx]) * d  # distance along the facade
    wx = along / 1.3
    wz = z / 2.0
    win = ((np.mod(wx, 1.0) > 0.3) & (np.mod(wx, 1.0) < 0.75))[None, :] & (
        (np.mod(wz, 1.0) > 0.35) & (np.mod(wz, 1.0) < 0.75) & (z > 1.2) & (z < hgt[None, :] - 0.8)
    )
    ix = np.floor(wx).astype(np.int64)[None, :]
    iz = np.floor(wz).astype(np.int64)
    hsh = ((ix * 73856093) ^ (iz * 19349663) ^ (idx[None, :] * 83492791)) & 1023
    color = tone[idx][None, :, :].astype(np.float32) * (0.85 + 0.15 * (z / hgt[None, :]))[..., None]
    wcol = _c(layer.color2)
    if layer.lit_windows:
        lit = win & (hsh < 600)
        # lit windows are light sources: undo the night dimming applied in _composite
        glow = wcol / np.float32(max(spec.light, 0.05)) * 0.8
        color = np.where(lit[..., None], glow, color)
        color = np.where((win & ~lit)[..., None], color * 0.5, color)
    else:
        color = np.where(win[..., None], wcol * (0.8 + 0.4 * (hsh / 1023.0))[..., None], color)
    ray = (d[None, :] / np.cos(sl)[:, None]).astype(np.float32)
    _composite(img, depth, r0, cover, color.astype(np.float32), ray, layer, spec)


def draw_layer(
    img: np.ndarray,
    depth: np.ndarray,
    layer: Layer,
    spec: SceneSpec,
    lon: np.ndarray,
    lat: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Paint one layer into `img` and `depth` in place (depth-tested)."""
    if layer.kind == "trees":
        _trees(img, depth, layer, spec, lon, lat, rng)
    elif layer.kind == "buildings":
        _buildings(img, depth, layer, spec, lon, lat, rng)
    else:
        _terrain(img, depth, layer, spec, lon, lat, rng)
