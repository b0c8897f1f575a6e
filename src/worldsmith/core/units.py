"""Sizes for people. Limits are set in decimal megabytes (20 MB = 20,000,000 bytes, as the
World API documents them), so they are printed the same way."""

from __future__ import annotations


def format_size(size: int) -> str:
    if size >= 1_000_000:
        value, unit = size / 1_000_000, "MB"
    elif size >= 1_000:
        value, unit = size / 1_000, "KB"
    else:
        return f"{size} bytes"
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"
