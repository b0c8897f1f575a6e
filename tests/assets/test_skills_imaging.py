"""The builtin image functions on their own."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tests.assets.test_skills_support import scene
from worldsmith.assets.skills import imaging


def test_no_faces_in_a_faceless_picture() -> None:
    faces = imaging.count_faces(scene(640, 480))
    if imaging.face_detection_available():
        assert faces == 0
    else:  # OpenCV 5 ships no Haar cascades: reported as unavailable, never guessed
        assert faces is None
        analysis = imaging.analyse(scene())
        assert analysis["faceDetection"] == "unavailable"
        assert "face" not in imaging.caption_from(analysis)


def test_caption_is_honest_about_what_it_saw() -> None:
    analysis = {
        "width": 10,
        "height": 20,
        "orientation": "portrait",
        "brightnessLabel": "dark",
        "dominantColors": ["navy", "black"],
        "faces": 2,
        "appearsToContainText": True,
    }
    assert imaging.caption_from(analysis) == (
        "A portrait image (10×20 px), mostly navy and black, dark overall. 2 faces detected. "
        "It appears to contain text."
    )
    assert imaging.alt_text_from(analysis) == (
        "Portrait image in navy and black showing 2 faces and what appears to be text"
    )


def test_flat_and_smooth_images_have_no_text() -> None:
    assert imaging.text_regions(Image.new("RGB", (300, 200), (200, 200, 200))) == 0
    assert imaging.text_regions(scene()) == 0


def test_dhash_is_stable_under_resizing_and_differs_between_pictures() -> None:
    picture = scene(400, 300, seed=5)
    small = picture.resize((160, 120), Image.Resampling.BILINEAR)
    assert imaging.hamming(imaging.dhash(picture), imaging.dhash(small)) <= 6
    other = scene(400, 300, seed=9).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    assert imaging.hamming(imaging.dhash(picture), imaging.dhash(other)) > 6


def test_dominant_colors_are_deterministic() -> None:
    picture = scene(seed=2)
    assert imaging.dominant_colors(picture, 4) == imaging.dominant_colors(picture, 4)
    gray = Image.fromarray(np.full((40, 40, 3), 128, dtype=np.uint8))
    (only,) = imaging.dominant_colors(gray, 5)
    assert only == {"hex": "#808080", "rgb": [128, 128, 128], "name": "gray", "proportion": 1.0}
