"""Deterministic, separable, azimuth-periodic noise for procedural panoramas.

A panorama wraps around: column W-1 touches column 0. Ordinary image noise leaves a seam there,
so every generator here is periodic in x by construction (lattices indexed modulo their width,
profiles built from integer-frequency sinusoids).

Value noise is evaluated separably: interpolate the lattice along x for every lattice row, then
along y for every output row. Both steps are gathers plus a lerp, so a full-resolution octave
costs a handful of array passes instead of a per-pixel loop, and the result is bit-identical
from run to run (no BLAS reductions whose order could vary).
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from arbitrary parts, stable across processes (unlike `hash()`)."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "little")


def _smooth(t: np.ndarray) -> np.ndarray:
    return t * t * (3.0 - 2.0 * t)


def _axis(coords: np.ndarray, n: int, wrap: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lattice indices (i0, i1) and smoothstep weight for sample coordinates along one axis."""
    c = coords.astype(np.float32)
    if not wrap:
        c = np.clip(c, 0.0, n - 1.000001)
    f = np.floor(c)
    t = _smooth((c - f).astype(np.float32))
    i0 = f.astype(np.int64)
    if wrap:
        i0 %= n
        i1 = (i0 + 1) % n
    else:
        i1 = np.minimum(i0 + 1, n - 1)
    return i0, i1, t


def value_noise(
    ycoords: np.ndarray, xcoords: np.ndarray, rng: np.random.Generator, x_cells: int
) -> np.ndarray:
    """One octave of value noise in [-1, 1] on the grid ycoords (H,) x xcoords (W,).

    `xcoords` are in lattice units and wrap every `x_cells`; `ycoords` are in lattice units and
    clamp (the lattice is made tall enough to cover their range).
    """
    y0 = float(np.floor(np.min(ycoords)))
    ny = int(np.ceil(np.max(ycoords) - y0)) + 2
    lattice = rng.uniform(-1.0, 1.0, size=(ny, x_cells)).astype(np.float32)
    xi0, xi1, xt = _axis(xcoords, x_cells, wrap=True)
    rows = lattice[:, xi0] + (lattice[:, xi1] - lattice[:, xi0]) * xt[None, :]
    yi0, yi1, yt = _axis(ycoords - y0, ny, wrap=False)
    a = rows[yi0]
    out = a + (rows[yi1] - a) * yt[:, None]
    return out


def fbm(
    ycoords: np.ndarray,
    xcoords: np.ndarray,
    rng: np.random.Generator,
    x_cells: int,
    octaves: int = 4,
    gain: float = 0.5,
) -> np.ndarray:
    """Fractal sum of `octaves` value-noise octaves, roughly in [-1, 1].

    Each octave doubles both lattice frequencies; `x_cells` doubles too so periodicity holds.
    """
    total = np.zeros((ycoords.shape[0], xcoords.shape[0]), dtype=np.float32)
    amp, norm, freq = 1.0, 0.0, 1.0
    for _ in range(octaves):
        total += np.float32(amp) * value_noise(
            ycoords * freq, xcoords * freq, rng, round(x_cells * freq)
        )
        norm += amp
        amp *= gain
        freq *= 2.0
    total *= np.float32(1.0 / norm)
    return total


def periodic_profile(
    lon: np.ndarray, rng: np.random.Generator, harmonics: int = 24, roughness: float = 1.3
) -> np.ndarray:
    """A 1D periodic random profile over longitude, normalised to [0, 1].

    Built from integer-frequency sinusoids (power-law amplitudes), so it is exactly periodic
    over 2*pi: mountain ridges and dunes meet themselves at the wrap.
    """
    k = np.arange(1, harmonics + 1, dtype=np.float64)
    amps = k**-roughness * rng.uniform(0.5, 1.0, size=harmonics)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=harmonics)
    p = np.sin(np.outer(lon.astype(np.float64), k) + phases) @ amps
    p -= p.min()
    peak = p.max()
    return (p / peak if peak > 0 else p).astype(np.float32)


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 (x <= edge0) to 1 (x >= edge1), float32."""
    t = np.clip((x - np.float32(edge0)) / np.float32(edge1 - edge0), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)
