"""An optional OpenAI-compatible vision endpoint for captions and alt text
(`vision_api_base_url`): POST `{base}/chat/completions` with the image as a data URL."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from worldsmith.config import Settings

TIMEOUT_SECONDS = 30.0

PROMPTS = {
    "caption": "Describe this image in one or two factual sentences. Mention only what you "
    "can actually see; do not guess names, places or intentions.",
    "alt-text": "Write concise alt text (at most 125 characters) for this image, for a "
    "screen-reader user. Mention only what you can actually see. Reply with the text only.",
}


class VisionError(Exception):
    pass


def configured(settings: Settings) -> bool:
    return bool(settings.vision_api_base_url)


async def describe(settings: Settings, jpeg: bytes, purpose: str) -> str:
    """The endpoint's answer for `purpose` ("caption" or "alt-text"); VisionError on any
    failure (the caller falls back to the builtin analyser)."""
    base = (settings.vision_api_base_url or "").rstrip("/")
    headers = {"Content-Type": "application/json"}
    if settings.vision_api_key:
        headers["Authorization"] = f"Bearer {settings.vision_api_key}"
    data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    body: dict[str, Any] = {
        "model": settings.vision_model,
        "max_tokens": 200,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": PROMPTS[purpose]},
                    {"type": "image_url", "image_url": {"url": data_url}},
                ],
            }
        ],
    }
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            response = await client.post(f"{base}/chat/completions", json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise VisionError(f"vision endpoint unreachable ({type(exc).__name__})") from exc
    if response.status_code != 200:
        raise VisionError(f"vision endpoint answered HTTP {response.status_code}")
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise VisionError("vision endpoint answered without a message") from exc
    if isinstance(content, list):  # some servers answer in content parts
        content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    if not isinstance(content, str) or not content.strip():
        raise VisionError("vision endpoint answered with an empty message")
    return content.strip()
