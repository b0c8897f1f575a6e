"""Identifiers: UUIDv7 (time-ordered, so ids sort by creation and index well), as 32 hex chars."""

from __future__ import annotations

import os
import time
import uuid


def uuid7() -> uuid.UUID:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b
    return uuid.UUID(int=value)


def new_id() -> str:
    return uuid7().hex


def new_uuid() -> str:
    """A dashed UUIDv7, the id format of the Assets API."""
    return str(uuid7())
