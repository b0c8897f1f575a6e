"""Render a `SceneSpec` into an equirectangular panorama plus its exact depth.

The scene is built from simple geometry around the camera: a sky dome, a flat ground plane and
rings of vertical structure (mountains, hills, dunes, trees, buildings) standing on that plane at
known distances. Because we place that geometry ourselves, the renderer also returns the true
per-pixel ray length, which the depth stage uses instead of guessing depth back from colours.

All textures are functions of (longitude, latitude) evaluated with whole-array numpy operations;
ground and cloud textures use log-polar coordinates (longitude, log horizontal distance), which
gives perspective foreshortening toward the horizon while staying separable and seamless.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from worldsmith.engines.world.layers import draw_layer
from worldsmith.engines.world.noise import fbm, periodic_profile, smoothstep
from worldsmith.engines.world.scene import RGB, SceneSpec
from worldsmith.engines.world.sphere import CAMERA_HEIGHT, SKY_DISTANCE, ground_distance, lon_lat


def _c(rgb: RGB) -> np.ndarray:
    return np.asarray(rgb, dtype=np.float32)


def sky_gradient(spec: SceneSpec, lat: np.ndarray) -> np.ndarray:
    """Sky colour (N, 3) for latitudes (N,) >= 0, without sun or clouds (also used by water)."""
    s = np.sin(np.clip(lat, 0.0, None)).astype(np.float32)
    t = s**0.45
    col = _c(spec.sky_horizon) + (_c(spec.sky_top) - _c(spec.sky_horizon)) * t[:, None]
    col += (0.06 * np.exp(-s / 0.04))[:, None].astype(np.float32)  # bright haze at the horizon
    return col.astype(np.float32)


def _sun_cos(spec: SceneSpec, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Cosine of the angle between each pixel's ray and the sun (or moon) direction."""
    se, ce = np.sin(spec.sun_elevation), np.cos(spec.sun_elevation)
    return (
        np.sin(lat)[:, None] * se + np.cos(lat)[:, None] * ce * np.cos(lon - spec.sun_azimuth)[None]
    ).astype(np.float32)


def _render_sky(
    spec: SceneSpec, lon: np.ndarray, lat: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    w = lon.shape[0]
    img = np.repeat(sky_gradient(spec, lat)[:, None, :], w, axis=1)
    cosang = _sun_cos(spec, lon, lat)
    sun = _c(spec.sun_color)
    if spec.sun_visible:
        halo = 0.35 * np.exp((cosang - 1.0) * 30.0) + 0.45 * np.exp((cosang - 1.0) * 600.0)
        if spec.night:
            halo *= 0.25
        if "sunset" in spec.tags and not spec.night:
            halo += 0.3 * np.exp((cosang - 1.0) * 4.0) * np.exp(-lat / 0.25)[:, None]
        img += halo[..., None] * sun
    # clouds on a plane above the camera, textured in log-polar coordinates
    cells = 20
    r = 1.0 / np.tan(np.clip(lat, 0.02, 1.45))
    ycoord = np.log(r) * (cells / (2 * np.pi)) * 1.6
    xcoord = (lon + np.pi) * (cells / (2 * np.pi))
    dens = fbm(ycoord.astype(np.float32), xcoord, rng, cells, octaves=5)
    thresh = 0.3 - 0.6 * spec.clouds
    cover = smoothstep(thresh, thresh + 0.35, dens)
    cover *= (smoothstep(0.0, 0.1, lat) * (1.0 - smoothstep(1.15, 1.5, lat)))[:, None]
    shade = 0.78 + 0.3 * np.clip(dens - thresh, 0.0, 1.0)
    cloud = _c(spec.cloud_color) * shade[..., None]
    if spec.sun_visible and not spec.night:
        cloud += (0.35 * np.exp((cosang - 1.0) * 6.0))[..., None] * sun
    img += (cloud - img) * cover[..., None]
    if spec.night:
        stars = rng.random(cover.shape, dtype=np.float32)
        bright = np.where(stars > 0.9975, (stars - 0.9975) / 0.0025, 0.0).astype(np.float32)
        bright *= (1.0 - cover) * smoothstep(0.03, 0.2, lat)[:, None]
        img += bright[..., None] * np.float32(0.9)
        moon = smoothstep(np.cos(0.03), np.cos(0.024), cosang)
        img += (moon * 0.9)[..., None] * _c((0.95, 0.95, 0.85))
    elif spec.sun_visible:
        disc = smoothstep(np.cos(0.022), np.cos(0.016), cosang)
        img += disc[..., None] * sun
    return img


def _render_ground(
    spec: SceneSpec, lon: np.ndarray, lat: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Ground colour (h, W, 3) and ray depth (h,) for below-horizon latitudes."""
    w = lon.shape[0]
    depth = ground_distance(lat)
    r = np.maximum(depth * np.cos(lat), 0.05)  # horizontal distance on the ground
    cells = 48
    k = cells / (2 * np.pi)
    ycoord = (np.log(r) * k).astype(np.float32)
    xcoord = (lon + np.pi) * k
    n = fbm(ycoord, xcoord, rng, cells, octaves=5)
    fine = fbm(ycoord * 4, xcoord * 4, rng, cells * 4, octaves=2)
    near = smoothstep(25.0, 2.0, r)[:, None]
    # fade texture contrast at the nadir, where log-polar coordinates pinch to a point
    pole = smoothstep(0.08, 0.5, r)[:, None]
    mixf = smoothstep(-0.35, 0.35, n * pole)[..., None]
    col = _c(spec.ground_a) + (_c(spec.ground_b) - _c(spec.ground_a)) * mixf
    grain = 0.06 if spec.ground == "snow" else 0.16
    col *= (1.0 + (0.12 * n + grain * fine * near) * pole)[..., None]
    if spec.ground == "sand":
        ripple = np.sin(ycoord[:, None] * 25.0 + n * 6.0)
        col *= (1.0 + 0.06 * ripple * near * pole)[..., None]
    if spec.ground in ("water", "beach"):
        water = _render_water(spec, lon, lat, r, rng)
        if spec.ground == "water":
            col = water
        else:
            shore = 2.5 + 6.0 * periodic_profile(lon, rng, 8, 1.5)
            wet = smoothstep(-0.4, 0.4, r[:, None] - shore[None, :])
            foam = np.exp(-(((r[:, None] - shore[None, :]) / 0.35) ** 2)) * (0.6 + 0.4 * fine)
            col = col + (water - col) * wet[..., None]
            col += (foam * 0.5)[..., None].astype(np.float32)
    del w
    return col.astype(np.float32), depth


def _render_water(
    spec: SceneSpec, lon: np.ndarray, lat: np.ndarray, r: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Water: Fresnel-weighted sky reflection over a body colour, with waves and sun glint."""
    cells = 96
    k = cells / (2 * np.pi)
    ycoord = (np.log(r) * k * 5.0).astype(np.float32)  # waves are stretched along the horizon
    waves = fbm(ycoord, (lon + np.pi) * k, rng, cells, octaves=3)
    refl = sky_gradient(spec, -lat)
    fres = (0.04 + 0.96 * (1.0 - np.sin(-lat)) ** 5).astype(np.float32)
    body = _c(spec.ground_a) + (_c(spec.ground_b) - _c(spec.ground_a)) * (
        0.5 + 0.5 * waves[..., None]
    )
    col = body + (refl[:, None, :] - body) * (fres[:, None] * (0.85 + 0.25 * waves))[..., None]
    if spec.sun_visible:
        dlon = np.angle(np.exp(1j * (lon - spec.sun_azimuth))).astype(np.float32)
        width = 0.03 + 0.25 * (1.0 - np.sin(spec.sun_elevation))
        glint = np.exp(-((dlon / width) ** 2))[None, :] * smoothstep(0.1, 0.6, waves)
        glint *= np.exp(-np.abs(np.sin(lat) + np.sin(spec.sun_elevation)) * 3.0)[:, None]
        gain = 0.35 if spec.night else 1.2
        col += (glint * gain)[..., None] * _c(spec.sun_color)
    return col.astype(np.float32)


def _add_glow(
    img: np.ndarray, spec: SceneSpec, lon: np.ndarray, lat: np.ndarray, rng: np.random.Generator
) -> None:
    """Scatter glowing motes on the ground and in the air (mystical / bioluminescent prompts)."""
    h, w = img.shape[:2]
    scale = w / 1280.0
    count = int(420 * spec.glow * scale)
    dist = np.exp(rng.uniform(np.log(1.5), np.log(35.0), count))
    az = rng.uniform(-np.pi, np.pi, count)
    height = np.where(rng.random(count) < 0.6, 0.0, rng.uniform(0.2, 2.5, count))
    el = np.arctan2(height - CAMERA_HEIGHT, dist)
    rows = np.clip(((0.5 - el / np.pi) * h).astype(np.int64), 0, h - 1)
    cols = np.clip(((az / np.pi + 1.0) * 0.5 * w).astype(np.int64), 0, w - 1)
    power = (rng.uniform(0.3, 1.0, count) * 3.0 / dist).astype(np.float32)
    out = np.zeros((h, w), np.float32)
    for near in (False, True):
        sel = (dist < 6.0) == near
        imp = np.zeros((h, w), np.float32)
        np.add.at(imp, (rows[sel], cols[sel]), power[sel])
        sigma = (1.8 if near else 0.8) * scale
        core = ndimage.gaussian_filter(imp, sigma, mode="wrap")
        halo = ndimage.gaussian_filter(imp, sigma * 4.0, mode="wrap")
        out += (
            core * (2.0 * np.pi * sigma**2) * 0.5 + halo * (2.0 * np.pi * (4 * sigma) ** 2) * 0.015
        )
    img += np.minimum(out, 2.0)[..., None] * _c(spec.glow_color)
    del lon, lat


def render_scene(spec: SceneSpec, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Panorama (H, W, 3) float32 in [0, 1] and exact ray depth (H, W) float32."""
    rng = np.random.default_rng(spec.rng_seed)
    lon, lat = lon_lat(width, height)
    half = height // 2
    img = np.empty((height, width, 3), np.float32)
    depth = np.empty((height, width), np.float32)
    img[:half] = _render_sky(spec, lon, lat[:half], rng)
    depth[:half] = SKY_DISTANCE
    ground, gdepth = _render_ground(spec, lon, lat[half:], rng)
    fog = _c(spec.fog_color)
    fogf = (1.0 - np.exp(-gdepth / spec.fog_distance)).astype(np.float32)
    light = np.float32(spec.light)
    tint = _c((0.75, 0.85, 1.2)) if spec.night else _c((1.0, 1.0, 1.0))
    ground = ground * (light * tint)
    img[half:] = ground + (fog * (0.6 if spec.night else 1.0) - ground) * fogf[:, None, None]
    depth[half:] = gdepth[:, None]
    for layer in sorted(spec.layers, key=lambda la: -la.distance):
        draw_layer(img, depth, layer, spec, lon, lat, rng)
    if spec.glow > 0:
        _add_glow(img, spec, lon, lat, rng)
    np.clip(img, 0.0, 1.0, out=img)
    return img, depth
