"""Helpers shared by the world-engine tests (a uniquely named module, imported directly).

`read_spz` is an SPZ v3 reader written from the format description alone (it does not import
the engine's writer), so round-trip tests check the writer against an independent decoder.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from worldsmith.engines.base import EngineContext, EngineResult
from worldsmith.engines.world.pipeline import run_world
from worldsmith.engines.world.types import WorldEngineInput

SH_C0 = 0.28209479177387814


@dataclass
class DecodedSpz:
    version: int
    sh_degree: int
    fractional_bits: int
    flags: int
    positions: np.ndarray  # (N, 3)
    alphas: np.ndarray  # (N,) opacity in [0, 1]
    rgb: np.ndarray  # (N, 3) displayed colour 0.5 + C0 * dc
    scales: np.ndarray  # (N, 3) linear
    quats: np.ndarray  # (N, 4) x, y, z, w

    def __len__(self) -> int:
        return int(self.positions.shape[0])


def read_spz(data: bytes | Path) -> DecodedSpz:
    """Decode a gzip-wrapped SPZ (v2 or v3, any SH degree; SH coefficients are skipped)."""
    if isinstance(data, Path):
        data = data.read_bytes()
    raw = gzip.decompress(data)
    magic, version, n, sh_degree, frac, flags, reserved = struct.unpack_from("<IIIBBBB", raw, 0)
    assert magic == 0x5053474E, hex(magic)
    assert version in (2, 3)
    assert reserved == 0
    off = 16

    def take(count: int) -> np.ndarray:
        nonlocal off
        arr = np.frombuffer(raw, dtype=np.uint8, count=count, offset=off)
        off += count
        return arr

    p = take(9 * n).reshape(n, 3, 3).astype(np.int32)
    fixed = p[..., 0] | (p[..., 1] << 8) | (p[..., 2] << 16)
    fixed = np.where(fixed & 0x800000, fixed - 0x1000000, fixed)  # sign-extend bit 23
    positions = fixed.astype(np.float64) / float(1 << frac)
    alphas = take(n).astype(np.float64) / 255.0
    dc = (take(3 * n).reshape(n, 3).astype(np.float64) / 255.0 - 0.5) / 0.15
    scales = np.exp(take(3 * n).reshape(n, 3).astype(np.float64) / 16.0 - 10.0)
    if version == 3:
        words = take(4 * n).reshape(n, 4).astype(np.uint64)
        word = words[:, 0] | (words[:, 1] << 8) | (words[:, 2] << 16) | (words[:, 3] << 24)
        largest = (word >> 30).astype(np.int64)
        rest = word & ((1 << 30) - 1)
        q = np.zeros((n, 4))
        for comp in (3, 2, 1, 0):  # the last-written component sits in the low bits
            m = largest != comp
            field = rest[m] & 1023
            mag = (field & 511).astype(np.float64) / 511.0 * np.sqrt(0.5)
            q[m, comp] = np.where((field >> 9) & 1, -mag, mag)
            rest[m] >>= 10
        rows = np.arange(n)
        q[rows, largest] = np.sqrt(np.clip(1.0 - (q * q).sum(axis=1), 0.0, None))
    else:
        xyz = take(3 * n).reshape(n, 3).astype(np.float64) / 127.5 - 1.0
        w = np.sqrt(np.clip(1.0 - (xyz * xyz).sum(axis=1), 0.0, None))
        q = np.concatenate([xyz, w[:, None]], axis=1)
    sh_dims = {0: 0, 1: 3, 2: 8, 3: 15}[sh_degree]
    take(sh_dims * 3 * n)
    assert off == len(raw), "trailing bytes after the SPZ arrays"
    return DecodedSpz(
        version=version,
        sh_degree=sh_degree,
        fractional_bits=frac,
        flags=flags,
        positions=positions,
        alphas=alphas,
        rgb=0.5 + SH_C0 * dc,
        scales=scales,
        quats=q,
    )


def quat_rotate_z(q: np.ndarray) -> np.ndarray:
    """Image of the local +z axis under quaternions (x, y, z, w)."""
    x, y, z, w = q.T
    return np.stack([2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)], axis=1)


@dataclass
class Run:
    result: EngineResult
    work: Path
    progress: list[tuple[float, str, str]]

    def path(self, key: str) -> Path:
        return self.work / self.result.files[key].path


def run(inp: WorldEngineInput, work: Path, cancelled: Callable[[], bool] = lambda: False) -> Run:
    calls: list[tuple[float, str, str]] = []

    def progress(fraction: float, stage: str, message: str = "") -> None:
        calls.append((fraction, stage, message))

    ctx = EngineContext(work_dir=work, progress=progress, is_cancelled=cancelled)
    return Run(run_world(inp, ctx), work, calls)
