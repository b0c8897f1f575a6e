"""Inputs of the world engine: plain data the job runner builds from a World API request."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

PromptType = Literal["text", "image", "multi-image", "video"]
ModelName = Literal["Marble 0.1-mini", "Marble 0.1-plus"]

# Output names, shared by the engine (files it writes) and the World API (URLs it renders).
PANO = "pano"
THUMBNAIL = "thumbnail"
COLLIDER = "collider"
SPZ_PREFIX = "spz_"
SPZ_LEVELS = ("100k", "500k", "full_res")


@dataclass
class PlacedImage:
    """A validated image file on local disk, with the azimuth (degrees) the user placed it at."""

    path: Path
    azimuth_deg: float | None = None


@dataclass
class WorldEngineInput:
    prompt_type: PromptType
    model: ModelName
    seed: int
    text_prompt: str | None = None
    images: list[PlacedImage] = field(default_factory=list)
    is_pano: bool = False
    video_path: Path | None = None
    disable_recaption: bool = False
