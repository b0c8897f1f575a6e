"""SPZ v3 writer: round trips through an independent reader (and gsply), clamping, rotations."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from tests.engines.world.world_helpers import SH_C0, quat_rotate_z, read_spz
from worldsmith.engines.world.splats import Splats, ray_quaternions
from worldsmith.engines.world.spz import compress, pack_spz, write_spz


def _random_splats(n: int, seed: int = 0) -> Splats:
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n, 4)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return Splats(
        positions=rng.uniform(-1000, 1000, (n, 3)).astype(np.float32),
        scales=np.exp(rng.uniform(-9.5, 5.5, (n, 3))).astype(np.float32),
        rotations=q,
        opacities=rng.random(n, dtype=np.float32),
        colors=rng.random((n, 3), dtype=np.float32),
    )


def test_round_trip_random(tmp_path: Path) -> None:
    s = _random_splats(20_000)
    path = tmp_path / "r.spz"
    write_spz(path, s)
    d = read_spz(path)
    assert d.version == 3 and d.sh_degree == 0 and d.fractional_bits == 12 and d.flags == 0
    assert len(d) == len(s)
    assert np.abs(d.positions - s.positions).max() <= 1 / 4096
    assert np.abs(d.alphas - s.opacities).max() <= 0.5 / 255 + 1e-6
    # one colour byte is 1 / (255 * 0.15) in dc, i.e. C0 / 38.25 in displayed rgb
    assert np.abs(d.rgb - s.colors).max() <= 0.5 * SH_C0 / 38.25 + 1e-6
    assert np.abs(np.log(d.scales) - np.log(s.scales)).max() <= 1 / 32 + 1e-6
    dots = np.abs((d.quats * s.rotations).sum(axis=1))
    assert dots.min() >= 0.99
    assert np.allclose(np.linalg.norm(d.quats, axis=1), 1.0, atol=1e-6)


def test_header_and_gzip_are_reproducible() -> None:
    s = _random_splats(100, seed=3)
    raw = pack_spz(s)
    assert raw[:4] == b"NGSP"
    assert len(raw) == 16 + 20 * 100
    a, b = compress(raw), compress(raw)
    assert a == b
    assert a[4:8] == b"\x00\x00\x00\x00"  # gzip mtime is zero
    assert gzip.decompress(a) == raw


def test_clamping_and_degenerate_values() -> None:
    s = Splats(
        positions=np.array([[5000.0, -5000.0, 0.0], [-0.5 / 4096, 1e-9, 2047.0]], np.float32),
        scales=np.array([[0.0, 1e6, 1.0], [1e-12, 1.0, 1.0]], np.float32),
        rotations=np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, -2.0]], np.float32),
        opacities=np.array([1.5, -0.5], np.float32),
        colors=np.array([[2.0, -1.0, 0.5], [0.0, 1.0, 0.5]], np.float32),
    )
    d = read_spz(compress(pack_spz(s)))
    lim = (2**23 - 1) / 4096
    assert np.allclose(d.positions[0, :2], [lim, -lim])
    assert d.positions[1, 2] == pytest.approx(2047.0)
    assert np.isfinite(d.scales).all()
    assert d.alphas.tolist() == [1.0, 0.0]
    # zero quaternion -> identity; (0,0,0,-2) normalises to the identity up to sign
    assert np.allclose(np.abs(d.quats), [[0, 0, 0, 1], [0, 0, 0, 1]], atol=1e-6)


def test_negative_components_and_every_largest_index() -> None:
    q = np.array(
        [
            [-0.9, 0.3, -0.2, 0.1],
            [0.1, -0.95, 0.2, -0.1],
            [0.2, 0.1, -0.9, 0.3],
            [-0.3, -0.1, 0.2, -0.9],
        ],
        np.float32,
    )
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    s = Splats(
        positions=np.zeros((4, 3), np.float32),
        scales=np.ones((4, 3), np.float32),
        rotations=q,
        opacities=np.ones(4, np.float32),
        colors=np.full((4, 3), 0.5, np.float32),
    )
    d = read_spz(compress(pack_spz(s)))
    assert (np.abs((d.quats * q).sum(axis=1)) > 0.999).all()


def test_ray_quaternions_put_thin_axis_on_the_ray() -> None:
    rng = np.random.default_rng(1)
    lon = rng.uniform(-np.pi, np.pi, 1000).astype(np.float32)
    lat = rng.uniform(-1.5, 1.5, 1000).astype(np.float32)
    z_axis = quat_rotate_z(ray_quaternions(lon, lat).astype(np.float64))
    ray = np.stack([np.cos(lat) * np.sin(lon), -np.sin(lat), np.cos(lat) * np.cos(lon)], axis=1)
    assert np.allclose(z_axis, ray, atol=1e-5)


def test_gsply_reads_our_files(tmp_path: Path) -> None:
    gsply = pytest.importorskip("gsply")
    s = _random_splats(5_000, seed=7)
    path = tmp_path / "g.spz"
    write_spz(path, s)
    data = gsply.read_spz(path)
    mine = read_spz(path)
    assert len(data) == len(s)
    assert np.allclose(data.means, mine.positions, atol=1e-4)
    assert np.allclose(np.exp(data.scales), mine.scales, rtol=1e-4)
    # gsply returns quaternions as (w, x, y, z)
    gq = np.roll(np.asarray(data.quats, np.float64), -1, axis=1)
    assert (np.abs((gq * mine.quats).sum(axis=1)) > 0.999).all()
    assert np.allclose(0.5 + SH_C0 * np.asarray(data.sh0), mine.rgb, atol=1e-4)
