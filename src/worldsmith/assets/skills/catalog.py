"""The skills: their names, descriptions, steps (run in order) and parameters, and how a
request's parameters are checked before anything is queued."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from worldsmith.assets.errors import AssetsError
from worldsmith.assets.skills import imaging

Validator = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    steps: tuple[str, ...]
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> schema
    validate: Validator | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "steps": list(self.steps),
            "parameters": self.parameters,
        }


def invalid(message: str) -> AssetsError:
    return AssetsError("skill_parameters_invalid", message)


def _no_parameters(params: dict[str, Any]) -> dict[str, Any]:
    return {}


def _format_convert(params: dict[str, Any]) -> dict[str, Any]:
    fmt = params.get("format", "webp")
    if not isinstance(fmt, str):
        raise invalid("format must be a string: one of webp, png, jpg, avif")
    fmt = fmt.strip().lower()
    fmt = {"jpeg": "jpg"}.get(fmt, fmt)
    if fmt not in imaging.CONVERT_FORMATS:
        raise invalid(f"format {fmt!r} is not supported: use one of webp, png, jpg, avif")
    if fmt == "avif" and not imaging.avif_supported():
        raise invalid("format 'avif' is not available: this server's Pillow has no AVIF codec")
    return {"format": fmt}


def _watermark(params: dict[str, Any]) -> dict[str, Any]:
    text = params.get("text")
    image = params.get("image")
    if text is not None and not isinstance(text, str):
        raise invalid("text must be a string")
    if image is not None and not isinstance(image, str):
        raise invalid("image must be a base64-encoded PNG string")
    if text is not None:
        text = text.strip()
        if not text:
            text = None
        elif len(text) > 200:
            raise invalid("text must be at most 200 characters")
    if (text is None) == (image is None):
        raise invalid("give exactly one of text or image (a base64-encoded PNG)")
    position = params.get("position", "bottom-right")
    if position not in imaging.POSITIONS:
        raise invalid(f"position must be one of {', '.join(imaging.POSITIONS)}")
    opacity = params.get("opacity", 0.5)
    if isinstance(opacity, bool) or not isinstance(opacity, int | float):
        raise invalid("opacity must be a number from 0 to 1")
    if not math.isfinite(opacity) or not 0 <= opacity <= 1:
        raise invalid("opacity must be a number from 0 to 1")
    return {"text": text, "image": image, "position": position, "opacity": float(opacity)}


def _dominant_colors(params: dict[str, Any]) -> dict[str, Any]:
    count = params.get("count", 5)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10:
        raise invalid("count must be an integer from 1 to 10")
    return {"count": count}


_WATERMARK_PARAMS: dict[str, dict[str, Any]] = {
    "text": {"type": "string", "maxLength": 200, "description": "Text to stamp on the image."},
    "image": {
        "type": "string",
        "format": "base64",
        "description": "A PNG (base64, optionally as a data URL) to stamp instead of text.",
    },
    "position": {
        "type": "string",
        "enum": list(imaging.POSITIONS),
        "default": "bottom-right",
        "description": "Where the watermark goes.",
    },
    "opacity": {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "default": 0.5,
        "description": "0 is invisible, 1 fully opaque.",
    },
}

SKILLS: dict[str, Skill] = {
    skill.name: skill
    for skill in (
        Skill(
            "basic_image_enrich",
            "Decode the image and record its dimensions, make a 256 px WebP thumbnail and "
            "write a caption (run on upload).",
            ("decode", "thumbnail", "caption"),
        ),
        Skill(
            "alt-text",
            "Write alt text for the image and use it as the asset's alt text when it has none.",
            ("decode", "alt-text"),
        ),
        Skill(
            "exif-strip",
            "Re-encode the original without EXIF/XMP metadata (orientation applied), replacing "
            "the stored file.",
            ("decode", "exif-strip"),
        ),
        Skill(
            "format-convert",
            "Convert the image to another format, stored as derivative `format-<format>`.",
            ("decode", "format-convert"),
            {
                "format": {
                    "type": "string",
                    "enum": list(imaging.CONVERT_FORMATS),
                    "default": "webp",
                    "description": "Target format (avif only where the server supports it).",
                }
            },
            _format_convert,
        ),
        Skill(
            "watermark",
            "Stamp a text or PNG watermark on the image, stored as derivative `watermarked`.",
            ("decode", "watermark"),
            _WATERMARK_PARAMS,
            _watermark,
        ),
        Skill(
            "dominant-colors",
            "Find the dominant colours (k-means): hex values, plain names and proportions.",
            ("decode", "dominant-colors"),
            {
                "count": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 10,
                    "default": 5,
                    "description": "How many colours to find.",
                }
            },
            _dominant_colors,
        ),
        Skill(
            "perceptual-hash",
            "Compute a 64-bit perceptual hash (dHash) and list this account's near-duplicate "
            "assets (Hamming distance at most 6).",
            ("decode", "perceptual-hash"),
        ),
    )
}


def get_skill(name: str) -> Skill:
    skill = SKILLS.get(name)
    if skill is None:
        raise AssetsError(
            "skill_not_found",
            f"no skill named {name!r}; GET /api/v1/assets/skills lists them",
        )
    return skill


def validate_parameters(skill: Skill, parameters: dict[str, Any] | None) -> dict[str, Any]:
    params = parameters or {}
    if not isinstance(params, dict):
        raise invalid("parameters must be a JSON object")
    unknown = sorted(set(params) - set(skill.parameters))
    if unknown:
        accepted = ", ".join(skill.parameters) or "none"
        raise invalid(
            f"unknown parameter(s) for {skill.name}: {', '.join(unknown)} (accepted: {accepted})"
        )
    return (skill.validate or _no_parameters)(params)
