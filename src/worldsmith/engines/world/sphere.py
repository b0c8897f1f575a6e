"""Shared geometry of the equirectangular panorama and the 3D frame every output is written in.

Every stage (depth, splats, collider, thumbnail) must agree on how a pano pixel maps to a ray,
otherwise the collider would not line up with the splats. Keeping the convention in one module
makes that agreement structural rather than a matter of discipline.

Convention (the one World Labs' Marble files use, OpenCV-like): x right, y down, z forward.
The camera sits at the origin, at `CAMERA_HEIGHT` above a flat ground plane, so the ground is
the plane y = +CAMERA_HEIGHT. The pano's centre column looks along +z; columns to its right
turn toward +x; the top row looks up (-y).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from worldsmith.engines.world.types import ModelName

# Raw scene units are "camera heights": the eye is 1 unit above the ground. We assume a standing
# person's eye height, so metric = raw * EYE_HEIGHT_M, and the ground sits at metric y = +1.6.
CAMERA_HEIGHT = 1.0
EYE_HEIGHT_M = 1.6
# Everything that is "infinitely far" (sky) is put on a dome this far away; the ground plane is
# softly capped before it so the horizon does not explode into huge splats.
SKY_DISTANCE = 100.0
GROUND_CAP = 80.0

PANO_SIZES: dict[str, tuple[int, int]] = {
    "Marble 0.1-plus": (2560, 1280),
    "Marble 0.1-mini": (1280, 640),
}

COORDINATE_SYSTEM: dict[str, Any] = {
    "convention": "opencv",
    "x": "right",
    "y": "down",
    "z": "forward",
    "handedness": "right",
    "origin": "camera position (eye), pano centre column looks along +z",
    "units": "camera heights (1 unit = assumed 1.6 m eye height, see semantics_metadata)",
    "ground_plane": "y = +1 (raw units)",
    "note": (
        "Y-down like World Labs' Marble SPZ files; to view in a Y-up (three.js/OpenGL) viewer "
        "rotate 180 degrees about X: position (x, -y, -z), quaternion (w, x, -y, -z)."
    ),
}


def pano_size(model: ModelName | str) -> tuple[int, int]:
    """(width, height) of the 2:1 equirectangular panorama a model produces."""
    try:
        return PANO_SIZES[model]
    except KeyError:
        raise ValueError(f"unknown world model {model!r}") from None


def lon_lat(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre longitudes (W,) in (-pi, pi) and latitudes (H,) from +pi/2 down to -pi/2.

    Longitude 0 is the centre column (forward, +z); latitude 0 is the horizon.
    """
    lon = ((np.arange(width, dtype=np.float64) + 0.5) / width * 2.0 - 1.0) * np.pi
    lat = (0.5 - (np.arange(height, dtype=np.float64) + 0.5) / height) * np.pi
    return lon.astype(np.float32), lat.astype(np.float32)


def ray_components(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit ray (x, y, z) in the Y-down frame for broadcastable lon/lat arrays."""
    cl = np.cos(lat)
    return cl * np.sin(lon), -np.sin(lat), cl * np.cos(lon)


def ground_distance(lat: np.ndarray) -> np.ndarray:
    """Distance along a ray to the ground plane, softly capped at `GROUND_CAP`.

    The exact value h / sin(-lat) diverges at the horizon; the harmonic soft cap
    1 / (1/d + 1/cap) keeps it smooth, so the discontinuity detector does not mistake the cap
    for an edge. Rays at or above the horizon get the cap.
    """
    s = np.maximum(-np.sin(lat.astype(np.float32)), 0.0)
    return (1.0 / (s / CAMERA_HEIGHT + 1.0 / GROUND_CAP)).astype(np.float32)
