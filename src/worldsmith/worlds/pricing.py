"""What a world costs, from the configured price table (defaults: Marble's public prices)."""

from __future__ import annotations

from worldsmith.billing.service import credits_to_micro
from worldsmith.config import Settings


def world_price_credits(settings: Settings, model: str, prompt_type: str, is_pano: bool) -> int:
    price = settings.world_prices[model]
    if is_pano:
        pano = 0  # the input already is the panorama: no panorama step
    elif prompt_type in ("multi-image", "video"):
        pano = price.pano_credits_multi
    else:
        pano = price.pano_credits_single
    return pano + price.world_credits


def world_price_micro(settings: Settings, model: str, prompt_type: str, is_pano: bool) -> int:
    return credits_to_micro(settings, world_price_credits(settings, model, prompt_type, is_pano))
