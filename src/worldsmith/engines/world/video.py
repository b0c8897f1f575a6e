"""Sample a few evenly spaced frames from a video with PyAV.

A world is built from at most `MAX_FRAMES` views, so decoding a whole long video would be
wasted work. When the container tells us how long the stream is, we seek to each target time and
decode forward only to the first frame at or after it; otherwise (or if seeking fails) we decode
sequentially, keep every frame in a small reservoir, and stop early once enough are collected
from a stream of known length. Frames are downscaled during colour conversion.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from worldsmith.engines.base import EngineInputError

MAX_FRAMES = 8
MAX_SIDE = 960


def _to_array(frame: av.VideoFrame) -> np.ndarray:
    w, h = frame.width, frame.height
    scale = min(1.0, MAX_SIDE / max(w, h))
    tw, th = max(int(w * scale) // 2 * 2, 2), max(int(h * scale) // 2 * 2, 2)
    rgb = frame.reformat(width=tw, height=th, format="rgb24").to_ndarray()
    return rgb.astype(np.float32) / np.float32(255.0)


def _sequential(path: Path, count: int) -> list[np.ndarray]:
    """Decode all frames, keeping `count` evenly spaced ones (for streams of unknown length)."""
    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        known = stream.frames or 0
        wanted = (
            set(np.linspace(0, known - 1, min(count, known)).round().astype(int)) if known else None
        )
        kept: list[tuple[int, av.VideoFrame]] = []
        for i, frame in enumerate(container.decode(stream)):
            if wanted is None:
                kept.append((i, frame))
                if len(kept) > 4 * count:  # thin the reservoir: keep every other frame
                    kept = kept[::2]
            elif i in wanted:
                frames.append(_to_array(frame))
                if len(frames) == len(wanted):
                    break
        if wanted is None and kept:
            pick = np.linspace(0, len(kept) - 1, min(count, len(kept))).round().astype(int)
            frames = [_to_array(kept[j][1]) for j in sorted(set(pick.tolist()))]
    return frames


def _seeking(path: Path, count: int) -> list[np.ndarray]:
    """Seek to `count` evenly spaced times and decode the first frame at/after each."""
    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.duration is None:
            return []
        start = stream.start_time or 0
        duration = int(stream.duration)
        for k in range(count):
            target = start + int(duration * (k + 0.5) / count)
            container.seek(target, stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.pts is None or frame.pts >= target:
                    frames.append(_to_array(frame))
                    break
    return frames


def sample_frames(path: Path, count: int = MAX_FRAMES) -> tuple[list[np.ndarray], float | None]:
    """Up to `count` RGB frames (float32, [0, 1]) and the duration in seconds if known.

    Raises EngineInputError when the file is not a decodable video.
    """
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise EngineInputError(
                    f"{path.name!r} contains no video stream; upload an MP4, MOV or WebM video"
                )
            stream = container.streams.video[0]
            seconds: float | None = None
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * Fraction(stream.time_base))
            elif container.duration:
                seconds = container.duration / 1_000_000
            long_video = (stream.frames or 0) > 600
        frames: list[np.ndarray] = []
        if long_video:
            try:
                frames = _seeking(path, count)
            except av.FFmpegError:
                frames = []
        if len(frames) < min(count, 2):
            frames = _sequential(path, count)
    except EngineInputError:
        raise
    except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise EngineInputError(
            f"could not decode the video {path.name!r} ({exc.__class__.__name__}); "
            "upload an MP4, MOV or WebM video"
        ) from exc
    if not frames:
        raise EngineInputError(f"the video {path.name!r} has no decodable frames")
    return frames, seconds
