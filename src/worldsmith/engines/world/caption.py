"""Honest captions: say what was made and from what, never claim recognised objects.

The builtin engine has no vision or language model. For text prompts the caption lists the scene
elements the prompt's words triggered. For images and video it reports measurable properties
(dominant named colours, brightness, contrast, orientation, a blue sky-like top or green lower
area) and states that uncovered regions were extended, combined with the user's own text when
given (or the user's text verbatim when re-captioning is disabled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from worldsmith.engines.world.scene import SceneSpec

# Named colours for classifying pixels by hue / saturation / value.
_HUES = [
    (15.0, "red"),
    (40.0, "orange"),
    (70.0, "yellow"),
    (160.0, "green"),
    (195.0, "teal"),
    (255.0, "blue"),
    (290.0, "purple"),
    (340.0, "pink"),
    (360.0, "red"),
]


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def text_caption(spec: SceneSpec) -> str:
    """Caption for a procedurally generated world from a text prompt."""
    prompt = " ".join(spec.prompt.split())
    what = _join(spec.elements) if spec.elements else "a generic outdoor scene"
    return (
        f"A procedurally generated 360° panorama for the prompt “{prompt}”: {what}. "
        "Made by the builtin engine from keywords in the prompt (no generative model); "
        "words it does not know were not depicted."
    )


def _rgb_to_hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mx = rgb.max(axis=-1)
    mn = rgb.min(axis=-1)
    delta = mx - mn
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    safe = np.where(delta > 1e-6, delta, 1.0)
    hue = np.where(
        mx == r,
        ((g - b) / safe) % 6.0,
        np.where(mx == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0),
    )
    hue = np.where(delta > 1e-6, hue * 60.0, 0.0)
    sat = np.where(mx > 1e-6, delta / np.maximum(mx, 1e-6), 0.0)
    return hue, sat, mx


def colour_names(rgb: np.ndarray) -> np.ndarray:
    """A colour name per pixel of an (..., 3) array in [0, 1]."""
    hue, sat, val = _rgb_to_hsv(rgb)
    bounds = np.asarray([b for b, _ in _HUES])
    names = np.asarray([n for _, n in _HUES])
    out = names[np.searchsorted(bounds, hue, side="left").clip(0, len(names) - 1)]
    brownish = (hue >= 10) & (hue < 45) & (val < 0.6) & (sat > 0.2)
    out = np.where(brownish, "brown", out)
    grey = sat < 0.18
    out = np.where(grey & (val < 0.2), "black", out)
    out = np.where(grey & (val >= 0.2) & (val < 0.75), "grey", out)
    out = np.where(grey & (val >= 0.75), "white", out)
    return out.astype(str)


@dataclass
class ImageFacts:
    orientation: str
    brightness: float
    contrast: float
    dominant: list[str]
    sky_like_top: bool
    green_bottom: bool


def describe_image(img: np.ndarray) -> ImageFacts:
    """Measurable facts about one image (h, w, 3) float32 in [0, 1]."""
    h, w = img.shape[:2]
    step = max(1, int(np.sqrt(h * w / 4096)))
    small = img[::step, ::step]
    names = colour_names(small).ravel()
    uniq, counts = np.unique(names, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    share = counts[order] / counts.sum()
    dominant = [str(uniq[i]) for i, s in zip(order, share, strict=True) if s >= 0.12][:3]
    lum = small @ np.asarray([0.299, 0.587, 0.114], np.float32)
    third = max(1, small.shape[0] // 3)
    top, bottom = small[:third], small[-third:]
    sky_like = bool(np.mean((top[..., 2] > top[..., 0] * 1.05) & (top[..., 2] > 0.45)) > 0.5)
    green_low = bool(
        np.mean((bottom[..., 1] > bottom[..., 0]) & (bottom[..., 1] > bottom[..., 2])) > 0.5
    )
    return ImageFacts(
        orientation="landscape" if w > h * 1.1 else ("portrait" if h > w * 1.1 else "square"),
        brightness=float(lum.mean()),
        contrast=float(lum.std()),
        dominant=dominant or [str(uniq[order[0]])],
        sky_like_top=sky_like,
        green_bottom=green_low,
    )


def image_caption(
    images: list[np.ndarray],
    source: str,
    text_prompt: str | None = None,
    disable_recaption: bool = False,
) -> str:
    """Caption for a world extended from images (`source`: e.g. "1 image", "8 video frames")."""
    if disable_recaption and text_prompt and text_prompt.strip():
        return text_prompt.strip()
    facts = [describe_image(im) for im in images]
    bright = float(np.mean([f.brightness for f in facts]))
    contrast = float(np.mean([f.contrast for f in facts]))
    tone = "dark" if bright < 0.25 else ("dim" if bright < 0.42 else "bright")
    tone += ", high-contrast" if contrast > 0.25 else (", soft" if contrast < 0.1 else "")
    colours: list[str] = []
    for f in facts:
        for c in f.dominant:
            if c not in colours:
                colours.append(c)
    orient = {f.orientation for f in facts}
    orient_txt = orient.pop() + " " if len(orient) == 1 else ""
    parts = [
        f"A 360° world extended from {source}" + (f" ({orient_txt.strip()})" if orient_txt else "")
    ]
    parts.append(f"{tone} scene with mostly {_join(colours[:4])} tones")
    extra = []
    if any(f.sky_like_top for f in facts):
        extra.append("a blue, sky-like upper area")
    if any(f.green_bottom for f in facts):
        extra.append("a green, vegetation-like lower area")
    desc = parts[0] + ": " + parts[1]
    if extra:
        desc += ", with " + _join(extra)
    desc += ". Areas the input did not cover were filled by extending its edge colours."
    if text_prompt and text_prompt.strip():
        return text_prompt.strip().rstrip(".") + ". " + desc
    return desc
