"""The builtin world engine: prompt or media -> panorama -> depth -> splats, collider, previews.

This runs on CPU without model weights. It follows the same stages as learned world models
(panorama, depth, Gaussians, mesh), each done with plain signal processing, so the outputs are
real, viewable files with the same names, formats and coordinate conventions as Marble's:

    pano          2:1 equirectangular PNG (2560x1280 plus, 1280x640 mini)
    thumbnail     640x360 perspective JPEG
    collider      GLB triangle mesh, Y-down, <= 200k triangles
    spz_100k      SPZ v3, ~100,000 Gaussians
    spz_500k      SPZ v3, ~500,000 Gaussians (all of them if full_res has fewer)
    spz_full_res  SPZ v3, one Gaussian per equal-area pano cell (~2.09M plus, ~0.52M mini)

Every random choice is seeded from the request's seed (and prompt), and no file carries a
timestamp, so the same request reproduces the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from worldsmith.engines.base import EngineContext, EngineInputError, EngineResult, OutputFile
from worldsmith.engines.world import caption as captions
from worldsmith.engines.world import panorama
from worldsmith.engines.world.collider import build_collider, export_glb
from worldsmith.engines.world.depth import DepthResult, depth_from_geometry, estimate_depth
from worldsmith.engines.world.noise import stable_seed
from worldsmith.engines.world.procedural import render_scene
from worldsmith.engines.world.scene import build_scene
from worldsmith.engines.world.sphere import (
    CAMERA_HEIGHT,
    COORDINATE_SYSTEM,
    EYE_HEIGHT_M,
    pano_size,
)
from worldsmith.engines.world.splats import build_full, decimate
from worldsmith.engines.world.spz import COMPRESS_LEVEL, FRACTIONAL_BITS, VERSION, write_spz
from worldsmith.engines.world.thumbnail import thumbnail_jpeg
from worldsmith.engines.world.types import (
    COLLIDER,
    PANO,
    SPZ_LEVELS,
    SPZ_PREFIX,
    THUMBNAIL,
    WorldEngineInput,
)
from worldsmith.engines.world.video import MAX_FRAMES, sample_frames

LEVEL_TARGETS = {"100k": 100_000, "500k": 500_000}


@dataclass
class _Pano:
    image: np.ndarray
    depth: DepthResult | None  # known exactly for procedural scenes
    caption: str
    view_yaw: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _placed(
    pixels: list[np.ndarray], azimuths: list[float | None], user_azimuths: bool
) -> list[panorama.Placed]:
    """Pinhole placements; evenly spread views get a FOV that just overlaps their neighbours."""
    n = len(pixels)
    hfov = panorama.DEFAULT_HFOV_DEG if user_azimuths else min(90.0, 1.25 * 360.0 / n)
    az = panorama.spread_azimuths(azimuths)
    return [panorama.Placed(p, a, hfov) for p, a in zip(pixels, az, strict=True)]


def _make_pano(inp: WorldEngineInput, width: int, height: int) -> _Pano:
    kind = inp.prompt_type
    prompt = (inp.text_prompt or "").strip()
    if kind == "text":
        if not prompt:
            raise EngineInputError("a text prompt is required to generate a world from text")
        spec = build_scene(prompt, inp.seed)
        img, depth = render_scene(spec, width, height)
        cap = prompt if inp.disable_recaption else captions.text_caption(spec)
        return _Pano(img, depth_from_geometry(depth), cap, extra={"scene_tags": sorted(spec.tags)})

    fill_seed = stable_seed("world-fill", inp.seed, kind)
    if kind in ("image", "multi-image"):
        if not inp.images:
            raise EngineInputError(f"a {kind} world needs at least one image")
        pixels = [panorama.load_image(p.path) for p in inp.images]
        n = len(pixels)
        source = "1 image" if n == 1 else f"{n} images"
        if inp.is_pano and n == 1:
            h0, w0 = pixels[0].shape[:2]
            img = panorama.from_equirect(pixels[0], width, height)
            cap = captions.image_caption(
                pixels, "1 panorama", inp.text_prompt, inp.disable_recaption
            )
            return _Pano(img, None, cap, extra={"input_aspect_ratio": round(w0 / h0, 4)})
        given = [p.azimuth_deg for p in inp.images]
        user = any(a is not None for a in given)
        placed = _placed(pixels, given, user or n == 1)
        img = panorama.from_images(placed, width, height, fill_seed)
        cap = captions.image_caption(pixels, source, inp.text_prompt, inp.disable_recaption)
        extra = {"azimuths_deg": [p.azimuth_deg for p in placed], "hfov_deg": placed[0].hfov_deg}
        return _Pano(img, None, cap, view_yaw=placed[0].azimuth_deg, extra=extra)

    if kind == "video":
        if inp.video_path is None:
            raise EngineInputError("a video world needs a video file")
        frames, seconds = sample_frames(Path(inp.video_path), MAX_FRAMES)
        placed = _placed(frames, [None] * len(frames), user_azimuths=False)
        img = panorama.from_images(placed, width, height, fill_seed)
        src = f"{len(frames)} frames sampled from a video" + (
            f" of {seconds:.1f} s" if seconds else ""
        )
        cap = captions.image_caption(frames, src, inp.text_prompt, inp.disable_recaption)
        extra = {"video_frames_used": len(frames), "azimuths_deg": [p.azimuth_deg for p in placed]}
        return _Pano(img, None, cap, extra=extra)

    raise EngineInputError(f"unsupported prompt type {kind!r}")


def _out(key: str, path: Path, work: Path, content_type: str) -> tuple[str, OutputFile]:
    return key, OutputFile(name=path.name, path=path.relative_to(work), content_type=content_type)


def run_world(inp: WorldEngineInput, ctx: EngineContext) -> EngineResult:
    """Generate a world from `inp`, writing its files into `ctx.work_dir`."""
    width, height = pano_size(inp.model)
    work = Path(ctx.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    files: dict[str, OutputFile] = {}

    ctx.progress(0.0, "panorama", f"building a {width}x{height} panorama from {inp.prompt_type}")
    ctx.check_cancelled()
    pano = _make_pano(inp, width, height)
    pano_u8 = np.clip(pano.image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    pano_path = work / "pano.png"
    Image.fromarray(pano_u8, "RGB").save(pano_path, format="PNG", compress_level=6)
    files.update([_out(PANO, pano_path, work, "image/png")])
    # splat colours come from the quantised pano, so they match the PNG exactly
    image = pano_u8.astype(np.float32) / np.float32(255.0)
    ctx.progress(0.25, "panorama", "panorama ready")
    ctx.check_cancelled()

    ctx.progress(0.27, "depth", "estimating depth")
    depth = pano.depth if pano.depth is not None else estimate_depth(image)
    ctx.progress(0.35, "depth", "depth ready")
    ctx.check_cancelled()

    ctx.progress(0.36, "splats", "placing Gaussians")
    rng = np.random.default_rng(stable_seed("world-splats", inp.seed))
    full = build_full(image, depth.depth, rng)
    n_full = len(full.splats)
    levels = {
        lvl: decimate(full, image, min(target, n_full), rng)
        for lvl, target in LEVEL_TARGETS.items()
    }
    levels["full_res"] = full.splats
    ctx.progress(0.45, "splats", f"{n_full} Gaussians at full resolution")
    ctx.check_cancelled()

    counts: dict[str, int] = {}
    frac = 0.45
    for lvl in SPZ_LEVELS:
        ctx.progress(frac, "spz", f"writing {lvl} splats")
        path = work / f"splats_{lvl}.spz"
        write_spz(path, levels[lvl])
        counts[lvl] = len(levels[lvl])
        files.update([_out(SPZ_PREFIX + lvl, path, work, "application/octet-stream")])
        frac += (
            0.4
            * max(counts[lvl], 1)
            / (n_full + sum(min(t, n_full) for t in LEVEL_TARGETS.values()))
        )
        ctx.check_cancelled()
    del levels, full

    ctx.progress(max(frac, 0.86), "collider", "building the collision mesh")
    mesh = build_collider(depth.depth, depth.edges)
    glb_path = work / "collider.glb"
    glb_path.write_bytes(export_glb(mesh))
    files.update([_out(COLLIDER, glb_path, work, "model/gltf-binary")])
    ctx.check_cancelled()

    ctx.progress(0.93, "thumbnail", "rendering the thumbnail")
    thumb_path = work / "thumbnail.jpg"
    thumb_path.write_bytes(thumbnail_jpeg(image, yaw_deg=pano.view_yaw))
    files.update([_out(THUMBNAIL, thumb_path, work, "image/jpeg")])

    metadata: dict[str, Any] = {
        "caption": pano.caption,
        "engine": "builtin",
        "model": inp.model,
        "seed": inp.seed,
        "prompt_type": inp.prompt_type,
        "splat_counts": counts,
        "levels_equal_to_full_res": [lvl for lvl, t in LEVEL_TARGETS.items() if t >= n_full],
        "coordinate_system": COORDINATE_SYSTEM,
        "pano_size": [width, height],
        "collider_triangles": len(mesh.faces),
        "semantics_metadata": {
            # raw units are camera heights; metric = raw * scale, then y - offset puts the
            # ground plane (raw y = +1, Y-down) at metric y = 0
            "metric_scale_factor": EYE_HEIGHT_M / CAMERA_HEIGHT,
            "ground_plane_offset": EYE_HEIGHT_M,
        },
        "depth_source": "procedural geometry" if pano.depth is not None else "pop-up estimate",
        "spz": {
            "version": VERSION,
            "sh_degree": 0,
            "fractional_bits": FRACTIONAL_BITS,
            "gzip_level": COMPRESS_LEVEL,
        },
        **pano.extra,
    }
    ctx.progress(1.0, "done", "world ready")
    return EngineResult(files=files, metadata=metadata)
