"""Panorama + depth -> 3D Gaussian splats, at full resolution and decimated levels.

One Gaussian per pano pixel would over-sample the poles: an equirectangular row at latitude
`lat` covers only cos(lat) of the equator's length. `full_res` therefore keeps round(W*cos(lat))
cells per row (equal-area sampling, ~2/pi of all pixels) and gives each splat the average colour
of the pixels its cell spans, so nothing is aliased away.

Each Gaussian sits at ray * depth, is as wide as the cell's angular footprint at that depth and
thin along the ray (its local z axis is rotated onto the ray), so from the capture point the
splats tile the view like the pixels they came from. Decimated levels keep a seeded random
subset and enlarge each survivor by sqrt(N_full / N_level), so coverage is preserved; their
colours come from a box-blurred pano whose blur matches the new spacing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

SH_C0 = 0.28209479177387814
# Gaussian std-dev relative to the sample spacing: large enough that neighbours overlap into a
# hole-free surface, small enough to keep detail.
FOOTPRINT = 0.65
THICKNESS = 0.12  # std-dev along the ray, relative to the tangential std-dev
OPACITY = 0.95


@dataclass
class Splats:
    """Gaussians in the Y-down frame; rotations are unit quaternions (x, y, z, w)."""

    positions: np.ndarray  # (N, 3) float32
    scales: np.ndarray  # (N, 3) float32, linear std-devs
    rotations: np.ndarray  # (N, 4) float32, xyzw
    opacities: np.ndarray  # (N,) float32 in [0, 1]
    colors: np.ndarray  # (N, 3) float32 displayed rgb in [0, 1]

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    @property
    def sh_dc(self) -> np.ndarray:
        """Degree-0 spherical-harmonic coefficient of the colour: (rgb - 0.5) / C0."""
        return ((self.colors - 0.5) / np.float32(SH_C0)).astype(np.float32)


@dataclass
class SplatSet:
    """Full-resolution splats plus the pano cell each came from (for decimation)."""

    splats: Splats
    rows: np.ndarray  # (N,) int pano row of each splat
    cols: np.ndarray  # (N,) int pano column at the splat's centre


def ray_quaternions(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Quaternions (x, y, z, w) of R = Ry(lon) @ Rx(lat), which maps local +z onto the ray.

    Local x then points along increasing longitude and local y along decreasing latitude
    (down the pano), so scale = (horizontal, vertical, thin) lines up with the pixel grid.
    """
    cp, sp = np.cos(lon * 0.5), np.sin(lon * 0.5)
    ct, st = np.cos(lat * 0.5), np.sin(lat * 0.5)
    return np.stack([cp * st, sp * ct, -sp * st, cp * ct], axis=-1).astype(np.float32)


def build_full(pano: np.ndarray, depth: np.ndarray, rng: np.random.Generator) -> SplatSet:
    """Equal-area full-resolution splats from a pano (H, W, 3) and its depth (H, W)."""
    h, w = depth.shape
    lat_rows = ((0.5 - (np.arange(h) + 0.5) / h) * np.pi).astype(np.float32)
    per_row = np.maximum(np.rint(w * np.cos(lat_rows)).astype(np.int64), 1)
    offset = rng.random((h,))  # per-row phase so cells do not line up at the seam
    starts = np.cumsum(per_row) - per_row
    rows = np.repeat(np.arange(h), per_row)
    k = np.arange(int(per_row.sum())) - np.repeat(starts, per_row)
    n_r = per_row[rows]
    phase = k + offset[rows]
    c0 = np.floor(phase * w / n_r).astype(np.int64)
    c1 = np.maximum(np.floor((phase + 1.0) * w / n_r).astype(np.int64), c0 + 1)
    # mean colour over each cell's pixel span, via per-row prefix sums on a wrapped row
    doubled = np.concatenate([pano, pano], axis=1)
    csum = np.zeros((h, 2 * w + 1, 3), np.float32)
    np.cumsum(doubled, axis=1, out=csum[:, 1:])
    colors = (csum[rows, c1] - csum[rows, c0]) / (c1 - c0)[:, None].astype(np.float32)
    del csum, doubled
    centre = ((c0 + c1) // 2) % w
    d = depth[rows, centre]
    valid = np.isfinite(d) & (d > 0)
    if not valid.all():
        rows, centre, colors, d, phase, n_r = (
            a[valid] for a in (rows, centre, colors, d, phase, n_r)
        )
    lon = (((phase + 0.5) / n_r) * 2.0 - 1.0).astype(np.float32) * np.float32(np.pi)
    lat = lat_rows[rows]
    cl = np.cos(lat)
    dirs = np.stack([cl * np.sin(lon), -np.sin(lat), cl * np.cos(lon)], axis=1)
    positions = (dirs * d[:, None]).astype(np.float32)
    s_h = FOOTPRINT * d * (2.0 * np.pi / n_r) * np.maximum(cl, 1.0 / w)
    s_v = FOOTPRINT * d * np.float32(np.pi / h)
    scales = np.stack([s_h, np.broadcast_to(s_v, s_h.shape), THICKNESS * np.minimum(s_h, s_v)], 1)
    splats = Splats(
        positions=positions,
        scales=scales.astype(np.float32),
        rotations=ray_quaternions(lon, lat),
        opacities=np.full(len(d), OPACITY, np.float32),
        colors=np.clip(colors, 0.0, 1.0).astype(np.float32),
    )
    return SplatSet(splats=splats, rows=rows, cols=centre)


def _stratified_choice(
    full: SplatSet, height: int, width: int, target: int, rng: np.random.Generator
) -> np.ndarray:
    """`target` indices spread evenly over the sphere: one random splat per cell of an
    equal-area grid about sqrt(n / target) pixels wide. A plain random subset leaves Poisson
    gaps that show as holes in a viewer; one pick per cell covers the sphere evenly."""
    n = len(full.rows)
    cell = float(np.sqrt(n / target))
    lat = (0.5 - (full.rows + 0.5) / height) * np.pi
    x = full.cols * np.cos(lat)  # equal-area horizontal coordinate, in pixels
    per_band = int(np.ceil(width / cell)) + 1
    bucket = (full.rows // cell).astype(np.int64) * per_band + (x // cell).astype(np.int64)
    order = rng.permutation(n)
    _, first = np.unique(bucket[order], return_index=True)
    chosen = order[first]
    if len(chosen) > target:
        chosen = rng.choice(chosen, size=target, replace=False)
    elif len(chosen) < target:
        rest = np.setdiff1d(np.arange(n), chosen)
        extra = rng.choice(rest, size=target - len(chosen), replace=False)
        chosen = np.concatenate([chosen, extra])
    return np.sort(chosen)


def decimate(full: SplatSet, pano: np.ndarray, target: int, rng: np.random.Generator) -> Splats:
    """A seeded random subset of `target` splats, enlarged and colour-filtered to match."""
    n = len(full.splats)
    if target >= n:
        return full.splats
    idx = _stratified_choice(full, pano.shape[0], pano.shape[1], target, rng)
    factor = np.float32(np.sqrt(n / target))
    # The picks sit anywhere inside their cells, so neighbours are up to two cells apart:
    # a little extra width closes the cracks between them.
    overlap = np.float32(1.25)
    size = max(round(float(factor)), 1) | 1
    blurred = ndimage.uniform_filter(
        pano, size=(size, size, 1), mode=("nearest", "wrap", "nearest")
    )
    s = full.splats
    return Splats(
        positions=s.positions[idx],
        scales=s.scales[idx] * (factor * overlap),
        rotations=s.rotations[idx],
        opacities=s.opacities[idx],
        colors=np.clip(blurred[full.rows[idx], full.cols[idx]], 0.0, 1.0).astype(np.float32),
    )
