"""End-to-end tests of the builtin world engine (text, image, multi-image, video inputs)."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import trimesh
from PIL import Image

from tests.engines.world.world_helpers import Run, quat_rotate_z, read_spz, run
from worldsmith.engines.base import EngineCancelled, EngineInputError
from worldsmith.engines.world.panorama import Placed, view_of
from worldsmith.engines.world.types import ModelName, PlacedImage, WorldEngineInput

MINI: ModelName = "Marble 0.1-mini"
PLUS: ModelName = "Marble 0.1-plus"
KEYS = {"pano", "thumbnail", "collider", "spz_100k", "spz_500k", "spz_full_res"}


def _text(
    seed: int = 11, model: ModelName = MINI, prompt: str = "a forest at night"
) -> WorldEngineInput:
    return WorldEngineInput(prompt_type="text", model=model, seed=seed, text_prompt=prompt)


def _photo(
    path: Path, tint: tuple[int, int, int] = (90, 150, 230), size: tuple[int, int] = (320, 240)
) -> Path:
    """A photo-like test image: sky gradient on top, textured green ground, a dark block."""
    w, h = size
    y = np.linspace(0.0, 1.0, h)[:, None, None]
    sky = np.asarray(tint, np.float32)[None, None, :] * (1.1 - 0.4 * y)
    rng = np.random.default_rng(0)
    ground = np.asarray([60, 130, 50], np.float32) * (0.8 + 0.4 * rng.random((h, w, 1)))
    img = np.where(y < 0.5, sky, ground)
    img[int(h * 0.3) : int(h * 0.6), int(w * 0.6) : int(w * 0.7)] = (40, 35, 30)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return path


def _video(path: Path, seconds: float = 2.0, fps: int = 10) -> Path:
    """A small MPEG-4 clip whose colour drifts over time."""
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(int(seconds * fps)):
            arr = np.zeros((48, 64, 3), np.uint8)
            arr[:24] = (80, 140, 220)
            arr[24:] = ((50 + 5 * i) % 256, 120, 40)
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _check_outputs(r: Run, model: ModelName) -> None:
    assert set(r.result.files) == KEYS
    md = r.result.metadata
    w, h = (1280, 640) if model == MINI else (2560, 1280)
    with Image.open(r.path("pano")) as pano:
        assert pano.format == "PNG" and pano.size == (w, h) and pano.mode == "RGB"
    with Image.open(r.path("thumbnail")) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (640, 360)
    assert md["engine"] == "builtin" and md["pano_size"] == [w, h]
    assert isinstance(md["caption"], str) and md["caption"]
    sem = md["semantics_metadata"]
    assert sem["metric_scale_factor"] > 0 and isinstance(sem["ground_plane_offset"], float)
    assert md["coordinate_system"]["y"] == "down"
    mesh = trimesh.load(r.path("collider"), force="mesh")
    assert isinstance(mesh, trimesh.Trimesh)
    assert 1_000 < len(mesh.faces) <= 200_000
    assert len(mesh.faces) == md["collider_triangles"]
    counts = md["splat_counts"]
    for level in ("100k", "500k", "full_res"):
        assert read_spz(r.path(f"spz_{level}")).positions.shape[0] == counts[level]
    assert abs(counts["100k"] - 100_000) <= 10_000
    assert abs(counts["500k"] - 500_000) <= 50_000 or counts["500k"] == counts["full_res"]
    assert counts["100k"] <= counts["500k"] <= counts["full_res"]
    assert r.result.files["pano"].content_type == "image/png"
    assert r.result.files["thumbnail"].content_type == "image/jpeg"
    assert r.result.files["collider"].content_type == "model/gltf-binary"
    assert r.result.files["spz_full_res"].content_type == "application/octet-stream"


def test_mini_text_world(mini_text_run: Run) -> None:
    r = mini_text_run
    _check_outputs(r, MINI)
    md = r.result.metadata
    assert 450_000 <= md["splat_counts"]["full_res"] <= 600_000
    assert "meadow" in md["caption"] or "grass" in md["caption"]
    d = read_spz(r.path("spz_full_res"))
    y = d.positions[:, 1]
    # Y-down: the ground plane is at y = +1 (one camera height below the eye), sky is at y < 0
    assert y.max() == pytest.approx(1.0, abs=0.02)
    assert 0.4 < (y > 0).mean() < 0.6
    assert np.linalg.norm(d.positions, axis=1).max() <= 100.5
    sky = d.rgb[y < -50]
    assert (sky[:, 2] > sky[:, 0]).mean() > 0.8  # a blue sky overhead
    rays = d.positions / np.linalg.norm(d.positions, axis=1, keepdims=True)
    thin = quat_rotate_z(d.quats)
    assert np.median(np.abs((thin * rays).sum(axis=1))) > 0.99
    assert (d.alphas > 0.9).all()
    mesh = trimesh.load(r.path("collider"), force="mesh")
    assert isinstance(mesh, trimesh.Trimesh)
    assert mesh.vertices[:, 1].max() <= 1.0 + 1e-3  # nothing below the ground


def test_progress_and_determinism(mini_text_run: Run, tmp_path: Path) -> None:
    fr = [f for f, _, _ in mini_text_run.progress]
    assert fr[0] == 0.0 and fr[-1] == 1.0
    assert all(b >= a for a, b in itertools.pairwise(fr))
    stages = {s for _, s, _ in mini_text_run.progress}
    assert {"panorama", "depth", "splats", "spz", "collider", "thumbnail"} <= stages

    inp = WorldEngineInput(
        prompt_type="text",
        model=MINI,
        seed=11,
        text_prompt="a sunny meadow with a clear blue sky and distant mountains",
    )
    again = run(inp, tmp_path / "again")
    for key in KEYS:
        assert again.path(key).read_bytes() == mini_text_run.path(key).read_bytes(), key
    other = run(_text(seed=12, prompt=inp.text_prompt or ""), tmp_path / "other")
    assert other.path("pano").read_bytes() != mini_text_run.path("pano").read_bytes()


def test_plus_text_world(tmp_path: Path) -> None:
    r = run(_text(seed=5, model=PLUS, prompt="a snowy mountain city at sunset"), tmp_path)
    _check_outputs(r, PLUS)
    counts = r.result.metadata["splat_counts"]
    assert 1_900_000 <= counts["full_res"] <= 2_300_000
    assert counts["500k"] == 500_000
    assert r.result.metadata["collider_triangles"] >= 50_000


def test_gsply_reads_pipeline_files(mini_text_run: Run) -> None:
    gsply = pytest.importorskip("gsply")
    for level in ("100k", "500k"):
        data = gsply.read_spz(mini_text_run.path(f"spz_{level}"))
        mine = read_spz(mini_text_run.path(f"spz_{level}"))
        assert len(data) == mini_text_run.result.metadata["splat_counts"][level]
        assert np.allclose(data.means, mine.positions, atol=1e-4)


def test_single_image_world(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "photo.png")
    inp = WorldEngineInput(
        prompt_type="image", model=MINI, seed=1, images=[PlacedImage(photo)], text_prompt="a park"
    )
    r = run(inp, tmp_path / "out")
    _check_outputs(r, MINI)
    md = r.result.metadata
    assert md["caption"].startswith("a park.")
    assert "green" in md["caption"] and "blue" in md["caption"]
    pano = np.asarray(Image.open(r.path("pano")), np.float32) / 255
    src = np.asarray(Image.open(photo), np.float32) / 255
    back = view_of(pano, Placed(src, 0.0, 90.0))
    inner = (slice(30, -30), slice(40, -40))
    assert np.abs(back[inner] - src[inner]).mean() < 0.06  # placed where the camera looks
    assert pano.min(axis=2).max() > 0.2 and (pano.max(axis=2) < 0.02).mean() < 0.01  # no holes


def test_multi_image_with_azimuths(tmp_path: Path) -> None:
    red = _photo(tmp_path / "red.png", tint=(230, 60, 50))
    blue = _photo(tmp_path / "blue.png", tint=(40, 70, 230))
    inp = WorldEngineInput(
        prompt_type="multi-image",
        model=MINI,
        seed=2,
        images=[PlacedImage(red, 0.0), PlacedImage(blue, 180.0)],
        disable_recaption=True,
        text_prompt="two views",
    )
    r = run(inp, tmp_path / "out")
    _check_outputs(r, MINI)
    assert r.result.metadata["caption"] == "two views"
    pano = np.asarray(Image.open(r.path("pano")), np.float32)
    up = pano[250]  # a row above the horizon, inside both photos' vertical field of view
    front, back = up[620:660].mean(axis=0), np.concatenate([up[:20], up[-20:]]).mean(axis=0)
    assert front[0] > front[2] and back[2] > back[0]
    assert np.abs(pano[:, 0] - pano[:, -1]).mean() < 12  # seamless wrap


def test_equirect_input(tmp_path: Path) -> None:
    src = tmp_path / "pano_in.png"
    _photo(src, size=(400, 200))
    inp = WorldEngineInput(
        prompt_type="image", model=MINI, seed=3, images=[PlacedImage(src)], is_pano=True
    )
    r = run(inp, tmp_path / "out")
    _check_outputs(r, MINI)
    out = np.asarray(Image.open(r.path("pano")).resize((400, 200)), np.float32)
    assert np.abs(out - np.asarray(Image.open(src), np.float32)).mean() < 8


def test_video_world(tmp_path: Path) -> None:
    clip = _video(tmp_path / "clip.mp4")
    inp = WorldEngineInput(prompt_type="video", model=MINI, seed=4, video_path=clip)
    r = run(inp, tmp_path / "out")
    _check_outputs(r, MINI)
    md = r.result.metadata
    assert 2 <= md["video_frames_used"] <= 8
    assert "video" in md["caption"]


def test_bad_inputs_raise_input_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video at all" * 10)
    with pytest.raises(EngineInputError, match="video"):
        run(WorldEngineInput(prompt_type="video", model=MINI, seed=1, video_path=junk), tmp_path)
    wav = tmp_path / "sound.wav"
    with av.open(str(wav), mode="w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with pytest.raises(EngineInputError, match="no video stream"):
        run(WorldEngineInput(prompt_type="video", model=MINI, seed=1, video_path=wav), tmp_path)
    bad_img = tmp_path / "bad.png"
    bad_img.write_bytes(b"\x89PNG garbage")
    with pytest.raises(EngineInputError, match="decode"):
        run(
            WorldEngineInput(
                prompt_type="image", model=MINI, seed=1, images=[PlacedImage(bad_img)]
            ),
            tmp_path,
        )
    with pytest.raises(EngineInputError):
        run(WorldEngineInput(prompt_type="text", model=MINI, seed=1, text_prompt="  "), tmp_path)
    with pytest.raises(EngineInputError):
        run(WorldEngineInput(prompt_type="multi-image", model=MINI, seed=1), tmp_path)


def test_cancellation(tmp_path: Path) -> None:
    with pytest.raises(EngineCancelled):
        run(_text(), tmp_path, cancelled=lambda: True)
