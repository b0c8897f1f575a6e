"""The image work behind the skills: plain synchronous functions on Pillow images, numpy and
OpenCV, run off the event loop (`asyncio.to_thread`) by the skill task.

Nothing here names an object it did not detect: the builtin analyser reports size,
orientation, brightness, dominant named colours, faces found by OpenCV's bundled Haar cascade
and whether regions look like text, and the captions say exactly that.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps, features

THUMBNAIL_SIZE = 256
POSITIONS = (
    "top-left",
    "top-center",
    "top-right",
    "center-left",
    "center",
    "center-right",
    "bottom-left",
    "bottom-center",
    "bottom-right",
)
CONVERT_FORMATS: dict[str, tuple[str, str, str]] = {
    # name: (Pillow format, content type, extension)
    "webp": ("WEBP", "image/webp", "webp"),
    "png": ("PNG", "image/png", "png"),
    "jpg": ("JPEG", "image/jpeg", "jpg"),
    "avif": ("AVIF", "image/avif", "avif"),
}
_CONTENT_TYPES = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
    "AVIF": ("image/avif", "avif"),
    "BMP": ("image/bmp", "bmp"),
    "TIFF": ("image/tiff", "tiff"),
}

# A small palette of plain colour names; the nearest (in CIELAB) names a colour.
NAMED_COLORS: dict[str, tuple[int, int, int]] = {
    "black": (20, 20, 20),
    "dark gray": (80, 80, 80),
    "gray": (128, 128, 128),
    "light gray": (192, 192, 192),
    "white": (245, 245, 245),
    "red": (200, 30, 30),
    "dark red": (120, 20, 20),
    "orange": (240, 140, 20),
    "brown": (130, 80, 40),
    "beige": (225, 205, 165),
    "yellow": (240, 220, 40),
    "olive": (120, 120, 30),
    "green": (40, 170, 60),
    "dark green": (20, 80, 30),
    "teal": (20, 128, 128),
    "cyan": (60, 210, 220),
    "light blue": (150, 190, 235),
    "blue": (40, 80, 200),
    "navy": (20, 30, 100),
    "purple": (120, 50, 150),
    "magenta": (210, 50, 190),
    "pink": (240, 160, 190),
}


def avif_supported() -> bool:
    return bool(features.check("avif"))


class ImageDecodeError(ValueError):
    """The file is not an image Pillow can decode (or it is too large to)."""


@dataclass
class Decoded:
    image: Image.Image  # orientation applied; RGB or RGBA
    format: str  # Pillow's format name of the original ("JPEG", "PNG", ...)
    width: int
    height: int
    animated: bool
    icc_profile: bytes | None


def decode(path: Path, max_pixels: int) -> Decoded:
    try:
        with Image.open(path) as im:
            if im.width * im.height > max_pixels:
                raise ImageDecodeError(
                    f"the image has {im.width * im.height} pixels, more than {max_pixels}"
                )
            fmt = im.format or "PNG"
            animated = getattr(im, "n_frames", 1) > 1
            icc = im.info.get("icc_profile")
            im.load()
            oriented = ImageOps.exif_transpose(im)
            has_alpha = oriented.mode in ("RGBA", "LA", "PA") or (
                oriented.mode == "P" and "transparency" in oriented.info
            )
            image = oriented.convert("RGBA" if has_alpha else "RGB")
    except ImageDecodeError:
        raise
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        raise ImageDecodeError(f"the file could not be decoded as an image: {exc}") from exc
    return Decoded(image, fmt, image.width, image.height, animated, icc)


@dataclass
class RenderedFile:
    path: Path
    content_type: str
    extension: str
    width: int
    height: int


def _flatten(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    if image.mode != "RGBA":
        return image.convert("RGB")
    base = Image.new("RGB", image.size, background)
    base.paste(image, mask=image.getchannel("A"))
    return base


def thumbnail(image: Image.Image, out_dir: Path) -> RenderedFile:
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    path = out_dir / "thumbnail.webp"
    thumb.save(path, "WEBP", quality=80, method=4)
    return RenderedFile(path, "image/webp", "webp", thumb.width, thumb.height)


def convert(image: Image.Image, fmt: str, out_dir: Path) -> RenderedFile:
    pil_format, content_type, ext = CONVERT_FORMATS[fmt]
    path = out_dir / f"converted.{ext}"
    if pil_format == "JPEG":
        _flatten(image).save(path, "JPEG", quality=90, optimize=True)
    elif pil_format == "PNG":
        image.save(path, "PNG", optimize=True)
    elif pil_format == "WEBP":
        image.save(path, "WEBP", quality=85, method=4)
    else:
        image.save(path, pil_format, quality=70)
    return RenderedFile(path, content_type, ext, image.width, image.height)


def decode_watermark_image(data: str) -> Image.Image:
    if "," in data and data.lstrip().startswith("data:"):
        data = data.split(",", 1)[1]
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the watermark image is not valid base64") from exc
    try:
        with Image.open(io.BytesIO(raw)) as mark:
            if mark.format != "PNG":
                raise ValueError(f"the watermark image must be a PNG, not {mark.format}")
            mark.load()
            return mark.convert("RGBA")
    except (OSError, SyntaxError) as exc:
        raise ValueError("the watermark image could not be decoded as a PNG") from exc


def _place(
    position: str, size: tuple[int, int], mark: tuple[int, int], margin: int
) -> tuple[int, int]:
    vertical, _, horizontal = position.partition("-")
    horizontal = horizontal or "center"  # "center" alone
    width, height = size
    mw, mh = mark
    x = {"left": margin, "right": width - mw - margin}.get(horizontal, (width - mw) // 2)
    y = {"top": margin, "bottom": height - mh - margin}.get(vertical, (height - mh) // 2)
    return max(0, x), max(0, y)


def watermark(
    decoded: Decoded,
    out_dir: Path,
    *,
    text: str | None,
    image_b64: str | None,
    position: str,
    opacity: float,
) -> RenderedFile:
    base = decoded.image.convert("RGBA")
    margin = max(4, min(base.size) // 50)
    if image_b64 is not None:
        mark = decode_watermark_image(image_b64)
        limit = max(1, base.width // 4)
        if mark.width > limit:
            mark = mark.resize(
                (limit, max(1, round(mark.height * limit / mark.width))),
                Image.Resampling.LANCZOS,
            )
    else:
        font = ImageFont.load_default(size=max(12, base.width // 24))
        probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
        stroke = max(1, base.width // 400)
        left, top, right, bottom = probe.textbbox(
            (0, 0), text or "", font=font, stroke_width=stroke
        )
        size = (math.ceil(right - left) + 2, math.ceil(bottom - top) + 2)
        mark = Image.new("RGBA", size, (0, 0, 0, 0))
        ImageDraw.Draw(mark).text(
            (-left + 1, -top + 1),
            text or "",
            font=font,
            fill=(255, 255, 255, 255),
            stroke_width=stroke,
            stroke_fill=(0, 0, 0, 255),
        )
    alpha = mark.getchannel("A").point(lambda value: round(value * opacity))
    mark.putalpha(alpha)
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    layer.paste(mark, _place(position, base.size, mark.size, margin))
    result = Image.alpha_composite(base, layer)
    if decoded.format == "JPEG":
        path = out_dir / "watermarked.jpg"
        _flatten(result).save(path, "JPEG", quality=92)
        return RenderedFile(path, "image/jpeg", "jpg", result.width, result.height)
    path = out_dir / "watermarked.png"
    (result if decoded.image.mode == "RGBA" else result.convert("RGB")).save(path, "PNG")
    return RenderedFile(path, "image/png", "png", result.width, result.height)


def strip_metadata(decoded: Decoded, out_dir: Path) -> RenderedFile:
    """The image re-encoded in its own format with orientation applied and no EXIF, XMP or
    text chunks (the ICC colour profile is kept: it is colour data, not metadata about the
    photo)."""
    if decoded.animated:
        raise ValueError("animated images are not supported by exif-strip")
    fmt = decoded.format if decoded.format in _CONTENT_TYPES else "PNG"
    content_type, ext = _CONTENT_TYPES[fmt]
    clean = Image.new(decoded.image.mode, decoded.image.size)
    clean.paste(decoded.image)  # a fresh image: nothing of the original's info travels
    path = out_dir / f"stripped.{ext}"
    extra: dict[str, Any] = {}
    if decoded.icc_profile:
        extra["icc_profile"] = decoded.icc_profile
    if fmt == "JPEG":
        _flatten(clean).save(path, "JPEG", quality=95, **extra)
    elif fmt in ("WEBP", "AVIF"):
        clean.save(path, fmt, quality=95, **extra)
    elif fmt == "GIF":
        clean.save(path, "GIF")
    else:
        clean.save(path, fmt, **extra)
    return RenderedFile(path, content_type, ext, clean.width, clean.height)


# --- colours -----------------------------------------------------------------------------


def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    c = rgb / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = c @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


_NAMES = list(NAMED_COLORS)
_NAMED_LAB = _srgb_to_lab(np.array(list(NAMED_COLORS.values()), dtype=np.float64))


def color_name(rgb: tuple[int, int, int]) -> str:
    lab = _srgb_to_lab(np.array([rgb], dtype=np.float64))[0]
    return _NAMES[int(np.argmin(((_NAMED_LAB - lab) ** 2).sum(axis=1)))]


def dominant_colors(image: Image.Image, k: int = 5, iterations: int = 25) -> list[dict[str, Any]]:
    """k-means (k-means++ seeding, fixed seed: the same image always gives the same answer)
    over a downscaled copy; clusters sorted by the share of pixels they cover."""
    small = _flatten(image).copy()
    small.thumbnail((96, 96), Image.Resampling.NEAREST)  # sampled, not blended: no new colours
    pixels = np.asarray(small, dtype=np.float64).reshape(-1, 3)
    k = max(1, min(k, len(np.unique(pixels, axis=0))))
    rng = np.random.default_rng(0)
    centers = [pixels[rng.integers(len(pixels))]]
    for _ in range(1, k):
        dist = np.min(((pixels[:, None, :] - np.array(centers)[None]) ** 2).sum(-1), axis=1)
        total = dist.sum()
        if total <= 0:
            break
        centers.append(pixels[rng.choice(len(pixels), p=dist / total)])
    center_arr = np.array(centers)
    labels = np.zeros(len(pixels), dtype=np.int64)
    for _ in range(iterations):
        labels = np.argmin(((pixels[:, None, :] - center_arr[None]) ** 2).sum(-1), axis=1)
        updated = np.array(
            [
                pixels[labels == i].mean(axis=0) if np.any(labels == i) else center_arr[i]
                for i in range(len(center_arr))
            ]
        )
        if np.allclose(updated, center_arr, atol=0.5):
            center_arr = updated
            break
        center_arr = updated
    counts = np.bincount(labels, minlength=len(center_arr))
    result = []
    for index in np.argsort(-counts):
        if counts[index] == 0:
            continue
        r, g, b = (int(v) for v in np.rint(center_arr[index]))
        result.append(
            {
                "hex": f"#{r:02x}{g:02x}{b:02x}",
                "rgb": [r, g, b],
                "name": color_name((r, g, b)),
                "proportion": round(float(counts[index]) / len(pixels), 4),
            }
        )
    return result


# --- perceptual hash -----------------------------------------------------------------------


def dhash(image: Image.Image) -> str:
    """64-bit difference hash as 16 hex digits: each bit says whether a pixel of a 9×8
    grayscale reduction is brighter than its right neighbour."""
    gray = _flatten(image).convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    px = np.asarray(gray, dtype=np.int16)
    bits = (px[:, 1:] > px[:, :-1]).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


# --- the builtin analyser --------------------------------------------------------------------


def _gray_array(image: Image.Image, max_side: int) -> np.ndarray:
    gray = _flatten(image).convert("L")
    if max(gray.size) > max_side:
        gray = gray.copy()
        gray.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return np.asarray(gray, dtype=np.uint8)


def _face_cascade_path() -> Path | None:
    """OpenCV's bundled frontal-face Haar cascade. OpenCV 4.x wheels ship it (with
    `cv2.CascadeClassifier`); OpenCV 5 moved Haar cascades out of the main package, and then
    there is none: face detection reports itself unavailable rather than guessing."""
    if not hasattr(cv2, "CascadeClassifier"):
        return None
    base = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if not base:
        return None
    path = Path(base) / "haarcascade_frontalface_default.xml"
    return path if path.is_file() else None


def face_detection_available() -> bool:
    return _face_cascade_path() is not None


def count_faces(image: Image.Image) -> int | None:
    """Frontal faces found by OpenCV's bundled Haar cascade; None when this OpenCV has none."""
    path = _face_cascade_path()
    if path is None:
        return None
    gray = cv2.equalizeHist(_gray_array(image, 1024))
    cascade = cv2.CascadeClassifier(str(path))  # type: ignore[attr-defined,unused-ignore]
    if cascade.empty():
        return None
    faces = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    return len(faces)


def text_regions(image: Image.Image) -> int:
    """Regions shaped like lines of text: a morphological gradient (strong, dense edges),
    binarised, joined horizontally; wide, short, edge-dense blobs count."""
    gray = _gray_array(image, 1200)
    height, width = gray.shape
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    gradient = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, kernel)
    _, binary = cv2.threshold(gradient, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if float(gradient.max()) < 40:  # a flat or smooth image: Otsu would binarise noise
        return 0
    joined = cv2.morphologyEx(
        binary, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 1))
    )
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    count = 0
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if h < 6 or h > height * 0.2 or w < 3 * h or w > width * 0.98:
            continue
        filled = cv2.countNonZero(binary[y : y + h, x : x + w]) / float(w * h)
        if 0.2 <= filled <= 0.85:
            count += 1
    return count


def brightness_label(value: float) -> str:
    if value < 0.25:
        return "dark"
    if value < 0.45:
        return "fairly dark"
    if value < 0.7:
        return "moderately bright"
    return "bright"


def analyse(image: Image.Image) -> dict[str, Any]:
    width, height = image.size
    if width > height * 1.1:
        orientation = "landscape"
    elif height > width * 1.1:
        orientation = "portrait"
    else:
        orientation = "square"
    brightness = float(_gray_array(image, 512).mean()) / 255.0
    colors = dominant_colors(image, k=4)
    names: list[str] = []
    for color in colors:
        if color["proportion"] >= 0.1 and color["name"] not in names:
            names.append(color["name"])
    regions = text_regions(image)
    faces = count_faces(image)
    return {
        "width": width,
        "height": height,
        "orientation": orientation,
        "brightness": round(brightness, 3),
        "brightnessLabel": brightness_label(brightness),
        "dominantColors": names[:3],
        "faces": faces,
        "faceDetection": "haar-cascade" if faces is not None else "unavailable",
        "textRegions": regions,
        "appearsToContainText": regions >= 3,
    }


def _join(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def caption_from(analysis: dict[str, Any]) -> str:
    parts = [f"A {analysis['orientation']} image ({analysis['width']}×{analysis['height']} px)"]
    if analysis["dominantColors"]:
        parts[0] += f", mostly {_join(analysis['dominantColors'])}"
    parts[0] += f", {analysis['brightnessLabel']} overall."
    faces = analysis["faces"]
    if faces:
        parts.append(f"{faces} face{'s' if faces != 1 else ''} detected.")
    if analysis["appearsToContainText"]:
        parts.append("It appears to contain text.")
    return " ".join(parts)


def alt_text_from(analysis: dict[str, Any]) -> str:
    text = f"{analysis['orientation'].capitalize()} image"
    if analysis["dominantColors"]:
        text += f" in {_join(analysis['dominantColors'])}"
    extras = []
    if analysis["faces"]:
        faces = analysis["faces"]
        extras.append(f"{faces} face{'s' if faces != 1 else ''}")
    if analysis["appearsToContainText"]:
        extras.append("what appears to be text")
    if extras:
        text += " showing " + " and ".join(extras)
    return text


def vision_jpeg(image: Image.Image, max_side: int = 1024) -> bytes:
    """The image as a JPEG of at most `max_side` pixels, for a vision endpoint."""
    copy = _flatten(image).copy()
    copy.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    copy.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()
