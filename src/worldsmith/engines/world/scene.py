"""Turn a text prompt into a procedural scene description (palette, sky, ground, horizon layers).

There is no language model here: the builtin engine recognises a fixed vocabulary of scene words
(forest, desert, ocean, night, snow, city, sunset, ...) and maps them to scene elements. Keeping
that mapping as data, separate from rendering, makes it easy to see (and caption honestly)
exactly which words influenced the result. Everything random is drawn from a generator seeded by
sha256(seed, prompt), so the same request always yields the same scene.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from worldsmith.engines.world.noise import stable_seed

RGB = tuple[float, float, float]

# word -> tag. Plurals are handled by also trying the word without a trailing "s"/"es".
_VOCAB: dict[str, str] = {}
for _tag, _words in {
    "forest": "forest tree wood woods woodland jungle pine grove oak rainforest taiga",
    "desert": "desert sand dune sahara arid dry wasteland badlands canyon",
    "ocean": "ocean sea lake water bay lagoon harbor harbour river",
    "beach": "beach coast shore island seaside tropical",
    "night": "night midnight starry star moon moonlit dark nocturnal",
    "glow": "glowing glow mystical magical magic bioluminescent neon fairy enchanted firefly "
    "luminous ethereal",
    "snow": "snow snowy winter ice icy frozen arctic glacier polar frost",
    "mountain": "mountain peak alpine cliff valley range summit volcano highland",
    "city": "city town street urban skyline downtown building metropolis cyberpunk village",
    "sunset": "sunset sunrise dusk dawn twilight evening golden",
    "fog": "fog foggy mist misty haze hazy",
    "storm": "storm stormy cloudy overcast rain rainy gloomy",
    "autumn": "autumn fall",
    "alien": "mars martian alien planet lava volcanic",
    "hills": "hill meadow field grass grassland plain prairie countryside farm",
}.items():
    for _w in _words.split():
        _VOCAB[_w] = _tag

_COLOR_WORDS: dict[str, RGB] = {
    "red": (0.95, 0.25, 0.2),
    "orange": (1.0, 0.55, 0.15),
    "yellow": (1.0, 0.9, 0.3),
    "golden": (1.0, 0.78, 0.3),
    "green": (0.3, 0.95, 0.45),
    "emerald": (0.2, 0.85, 0.5),
    "cyan": (0.3, 0.95, 0.95),
    "turquoise": (0.25, 0.9, 0.8),
    "blue": (0.3, 0.5, 1.0),
    "purple": (0.7, 0.35, 1.0),
    "violet": (0.6, 0.35, 1.0),
    "pink": (1.0, 0.45, 0.75),
    "white": (0.95, 0.95, 1.0),
}


@dataclass
class Layer:
    """A ring of vertical structure standing on the ground at `distance` (camera heights)."""

    kind: str  # "mountains" | "hills" | "dunes" | "trees" | "buildings"
    distance: float
    height: float  # tallest feature above the ground, camera heights
    color: RGB
    color2: RGB  # secondary colour (snow caps, lit side, foliage variation, windows)
    snow: bool = False
    lit_windows: bool = False
    density: float = 1.0


@dataclass
class SceneSpec:
    prompt: str
    rng_seed: int
    tags: set[str]
    sky_top: RGB
    sky_horizon: RGB
    sun_azimuth: float  # radians
    sun_elevation: float  # radians
    sun_color: RGB
    sun_visible: bool
    night: bool
    clouds: float  # 0..1 coverage
    cloud_color: RGB
    ground: str  # "grass" | "sand" | "snow" | "street" | "water" | "beach" | "forest" | "soil"
    ground_a: RGB
    ground_b: RGB
    layers: list[Layer] = field(default_factory=list)
    glow: float = 0.0
    glow_color: RGB = (0.4, 0.9, 1.0)
    fog_color: RGB = (0.8, 0.85, 0.9)
    fog_distance: float = 120.0
    light: float = 1.0  # overall illumination of ground and layers
    elements: list[str] = field(default_factory=list)  # for the caption


def prompt_tags(prompt: str) -> tuple[set[str], list[RGB]]:
    """Scene tags and colour words recognised in a prompt."""
    tags: set[str] = set()
    colors: list[RGB] = []
    for word in re.findall(r"[a-z]+", prompt.lower()):
        for cand in (word, word[:-1] if word.endswith("s") else "", word[:-2]):
            if cand and cand in _VOCAB:
                tags.add(_VOCAB[cand])
                break
        if word in _COLOR_WORDS:
            colors.append(_COLOR_WORDS[word])
    return tags, colors


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def _scale(a: RGB, s: float) -> RGB:
    return (a[0] * s, a[1] * s, a[2] * s)


def build_scene(prompt: str, seed: int) -> SceneSpec:
    """Map the prompt's words to a concrete, seeded scene description."""
    tags, colors = prompt_tags(prompt)
    rng_seed = stable_seed("world-scene", seed, prompt.strip())
    rng = np.random.default_rng(rng_seed)
    jitter = float(rng.uniform(-0.04, 0.04))
    elements: list[str] = []

    night = "night" in tags or ("glow" in tags and "sunset" not in tags and rng.random() < 0.5)
    sunset = "sunset" in tags and not night
    storm = "storm" in tags
    sun_az = float(rng.uniform(-np.pi, np.pi))

    # --- sky -------------------------------------------------------------------------------
    if night:
        sky_top, sky_hor = (0.01, 0.015, 0.05), (0.06, 0.08, 0.18)
        if "glow" in tags:
            sky_top, sky_hor = (0.03, 0.01, 0.08), (0.12, 0.07, 0.25)
        sun_el, sun_col, light = 0.6, (0.85, 0.9, 1.0), 0.4
        elements.append("a starry night sky with a moon")
    elif sunset:
        sky_top, sky_hor = (0.2, 0.2, 0.45), (1.0, 0.55 + jitter, 0.25)
        sun_el, sun_col, light = 0.04, (1.0, 0.7, 0.35), 0.75
        elements.append("a warm sunset sky with a low sun")
    elif storm:
        sky_top, sky_hor = (0.35, 0.38, 0.42), (0.62, 0.64, 0.66)
        sun_el, sun_col, light = 0.7, (0.8, 0.8, 0.8), 0.7
        elements.append("a grey overcast sky")
    else:
        sky_top, sky_hor = (0.2, 0.42 + jitter, 0.85), (0.72, 0.84, 0.95)
        if "desert" in tags:
            sky_hor = (0.9, 0.86, 0.76)
        sun_el, sun_col, light = float(rng.uniform(0.5, 0.9)), (1.0, 0.97, 0.88), 1.0
        elements.append("a clear daytime sky")
    if colors and not night:
        sky_hor = _mix(sky_hor, colors[0], 0.25)
    if "fog" in tags:
        sky_hor = _mix(sky_hor, (0.85, 0.86, 0.88), 0.6)
        elements.append("fog")
    clouds = 0.85 if storm else (0.15 if night else float(rng.uniform(0.25, 0.55)))
    if "desert" in tags and not storm:
        clouds *= 0.4
    cloud_col = _mix((1.0, 1.0, 1.0), sun_col, 0.5) if not storm else (0.55, 0.57, 0.6)
    if night:
        cloud_col = (0.12, 0.13, 0.2)

    # --- ground ----------------------------------------------------------------------------
    if "beach" in tags:
        ground, ga, gb = "beach", (0.87, 0.78, 0.58), (0.78, 0.68, 0.48)
        elements.append("a sandy beach meeting open water")
    elif "ocean" in tags:
        ground, ga, gb = "water", (0.04, 0.18, 0.3), (0.06, 0.3, 0.4)
        elements.append("open water to the horizon")
    elif "snow" in tags:
        ground, ga, gb = "snow", (0.93, 0.95, 1.0), (0.78, 0.83, 0.92)
        elements.append("snow-covered ground")
    elif "desert" in tags:
        ground, ga, gb = "sand", (0.86, 0.66, 0.4), (0.72, 0.5, 0.28)
        elements.append("ochre sand")
    elif "alien" in tags:
        ground, ga, gb = "soil", (0.6, 0.28, 0.16), (0.38, 0.16, 0.1)
        elements.append("rust-red rocky ground")
    elif "city" in tags:
        ground, ga, gb = "street", (0.4, 0.4, 0.42), (0.3, 0.3, 0.32)
        elements.append("paved ground")
    elif "forest" in tags:
        ground, ga, gb = "forest", (0.2, 0.32, 0.12), (0.3, 0.24, 0.14)
        elements.append("a mossy forest floor")
    else:
        ground, ga, gb = "grass", (0.35, 0.55, 0.2), (0.5, 0.6, 0.25)
        elements.append("grassy ground")
    if "autumn" in tags and ground in ("grass", "forest"):
        ga, gb = (0.55, 0.42, 0.18), (0.45, 0.3, 0.12)

    # --- horizon layers (far to near) ------------------------------------------------------
    layers: list[Layer] = []
    snowy = "snow" in tags
    rock = (0.38, 0.36, 0.4) if "alien" not in tags else (0.45, 0.2, 0.12)
    if "mountain" in tags or snowy or ("hills" not in tags and not tags & {"city", "desert"}):
        if "mountain" in tags or snowy or rng.random() < 0.5:
            layers.append(Layer("mountains", 75.0, 22.0, rock, (0.95, 0.96, 1.0), snow=True))
            layers.append(
                Layer("mountains", 55.0, 10.0, _scale(rock, 0.8), (0.95, 0.96, 1.0), snow=snowy)
            )
            elements.append("snow-capped mountain ridges" if snowy else "mountain ridges")
    if "desert" in tags:
        layers.append(Layer("dunes", 60.0, 4.0, (0.82, 0.6, 0.35), (0.95, 0.78, 0.5)))
        layers.append(Layer("dunes", 22.0, 1.6, (0.8, 0.58, 0.33), (0.95, 0.76, 0.48)))
        elements.append("rolling dunes")
    if "city" in tags:
        windows = (1.0, 0.85, 0.45) if night else (0.25, 0.32, 0.42)
        layers.append(
            Layer("buildings", 70.0, 30.0, (0.55, 0.57, 0.62), windows, lit_windows=night)
        )
        layers.append(Layer("buildings", 30.0, 9.0, (0.6, 0.56, 0.52), windows, lit_windows=night))
        elements.append("blocks of buildings" + (" with lit windows" if night else ""))
    if "forest" in tags or (ground == "grass" and rng.random() < 0.6 and "city" not in tags):
        foliage = (0.12, 0.3, 0.12)
        if "autumn" in tags:
            foliage = (0.7, 0.35, 0.1)
        if snowy:
            foliage = (0.12, 0.22, 0.16)
        dense = 1.0 if "forest" in tags else 0.35
        if "hills" in tags or ground == "grass":
            layers.append(Layer("hills", 60.0, 4.0, (0.3, 0.48, 0.22), (0.42, 0.58, 0.28)))
            elements.append("low hills")
        snow_col: RGB = (0.85, 0.9, 0.95)
        layers.append(Layer("trees", 42.0, 10.0, foliage, snow_col, snow=snowy, density=dense))
        if "forest" in tags:
            layers.append(
                Layer("trees", 24.0, 9.0, _scale(foliage, 0.9), snow_col, snow=snowy, density=1.0)
            )
        layers.append(
            Layer("trees", 12.0, 7.0, _scale(foliage, 0.8), snow_col, snow=snowy, density=dense)
        )
        elements.append("tree silhouettes" if "forest" in tags else "scattered trees")
    elif "hills" in tags and not layers:
        layers.append(Layer("hills", 50.0, 4.0, (0.3, 0.48, 0.22), (0.42, 0.58, 0.28)))
        elements.append("low hills")

    glow = 0.0
    glow_col: RGB = colors[0] if colors else (0.35, 0.9, 1.0)
    if "glow" in tags:
        glow = 1.0
        elements.append("glowing lights scattered over the ground and in the air")
    fog_col = sky_hor
    fog_dist = 35.0 if "fog" in tags else (80.0 if storm else 110.0)

    return SceneSpec(
        prompt=prompt,
        rng_seed=rng_seed,
        tags=tags,
        sky_top=sky_top,
        sky_horizon=sky_hor,
        sun_azimuth=sun_az,
        sun_elevation=sun_el,
        sun_color=sun_col,
        sun_visible=not storm,
        night=night,
        clouds=clouds,
        cloud_color=cloud_col,
        ground=ground,
        ground_a=ga,
        ground_b=gb,
        layers=layers,
        glow=glow,
        glow_color=glow_col,
        fog_color=fog_col,
        fog_distance=fog_dist,
        light=light,
        elements=elements,
    )
