"""Collision mesh: a triangulated, depth-displaced, downsampled pano grid exported as GLB.

A game engine needs a light mesh to walk on, not the splats. We sample the depth on a coarse
longitude/latitude grid, push each vertex out along its ray (same Y-down frame as the splats),
and connect neighbours into two triangles per grid cell, wrapping around in longitude.

Triangles that would bridge a depth discontinuity (a tree's silhouette against a far mountain)
would be invisible walls, so cells whose log-depth spread is far above that of their neighbours
are dropped. Cells entirely on the sky dome are dropped too: a collider for the sky would only
box the player in.
"""

from __future__ import annotations

import io

import numpy as np
import trimesh
from scipy import ndimage

from worldsmith.engines.world.sphere import SKY_DISTANCE

MAX_TRIANGLES = 200_000


def grid_size(width: int) -> tuple[int, int]:
    """Collider grid (columns, rows): at most 2 * 440 * 220 = 193,600 triangles (plus).

    Sky cells are dropped later, so a typical outdoor plus scene ends near 100k triangles and a
    mini scene near a third of that.
    """
    cols = min(440, max(64, width // 5))
    return cols, cols // 2


def _sample(depth: np.ndarray, cols: int, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Depth at grid nodes (rows+1, cols) by min-pooling a small window, and node angles."""
    h, w = depth.shape
    lat = (0.5 - np.arange(rows + 1) / rows) * np.pi
    lat = np.clip(lat, -np.pi / 2 + 0.5 * np.pi / h, np.pi / 2 - 0.5 * np.pi / h)
    lon = (np.arange(cols) / cols * 2.0 - 1.0) * np.pi
    # a small min-filter keeps thin near structures (trunks, poles) in the coarse mesh
    pooled = ndimage.minimum_filter(depth, size=3, mode=("nearest", "wrap"))
    ri = np.clip(np.rint((0.5 - lat / np.pi) * h - 0.5).astype(np.int64), 0, h - 1)
    ci = np.rint((lon / np.pi + 1.0) * 0.5 * w - 0.5).astype(np.int64) % w
    return pooled[np.ix_(ri, ci)], lon, lat


def build_collider(
    depth: np.ndarray, edges: np.ndarray | None = None, tau: float = 0.12, ratio: float = 3.0
) -> trimesh.Trimesh:
    """Collision mesh for a depth map (H, W) in the Y-down frame.

    `edges` is the pixel-level discontinuity mask from the depth stage; when given, a cell that
    contains an edge pixel and spans a large depth range is dropped even if its neighbours span
    the same edge (thin trunks, poles), which the neighbourhood test alone would keep.
    """
    h, w = depth.shape
    cols, rows = grid_size(w)
    d, lon, lat = _sample(depth, cols, rows)
    cl = np.cos(lat)[:, None]
    verts = np.stack(
        [cl * np.sin(lon)[None, :] * d, -np.sin(lat)[:, None] * d, cl * np.cos(lon)[None, :] * d],
        axis=-1,
    ).reshape(-1, 3)
    logd = np.log(np.maximum(d, 1e-6))
    nxt = np.roll(logd, -1, axis=1)
    quad = np.stack([logd[:-1], nxt[:-1], logd[1:], nxt[1:]])  # corners of each cell
    spread = quad.max(axis=0) - quad.min(axis=0)
    padded = np.pad(np.pad(spread, ((0, 0), (1, 1)), mode="wrap"), ((1, 1), (0, 0)), mode="edge")
    typical = ndimage.median_filter(padded, size=3)[1:-1, 1:-1]
    jump = (spread > tau) & (spread > ratio * typical)
    if edges is not None:
        cell = (int(np.ceil(h / rows)) + 1, int(np.ceil(w / cols)) + 1)
        near_edge = ndimage.maximum_filter(edges, size=cell, mode=("nearest", "wrap"))
        cr = np.clip(((np.arange(rows) + 0.5) / rows * h).astype(np.int64), 0, h - 1)
        cc = ((np.arange(cols) + 0.5) / cols * w).astype(np.int64) % w
        jump |= near_edge[np.ix_(cr, cc)] & (spread > tau)
    keep = ~jump
    keep &= ~(quad.min(axis=0) >= np.log(SKY_DISTANCE * 0.999))
    r, c = np.nonzero(keep)
    a = r * cols + c
    b = r * cols + (c + 1) % cols
    a2 = a + cols
    b2 = b + cols
    faces = np.concatenate([np.stack([a, a2, b], 1), np.stack([b, a2, b2], 1)])
    faces = faces[:MAX_TRIANGLES]
    used = np.unique(faces)
    remap = np.full(verts.shape[0], -1, np.int64)
    remap[used] = np.arange(used.shape[0])
    return trimesh.Trimesh(
        vertices=verts[used].astype(np.float64), faces=remap[faces], process=False
    )


def export_glb(mesh: trimesh.Trimesh) -> bytes:
    """Binary glTF bytes (no timestamps in trimesh's output: deterministic)."""
    buf = io.BytesIO()
    mesh.export(buf, file_type="glb")
    return buf.getvalue()
