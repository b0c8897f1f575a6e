"""API keys and HMAC-signed storage URLs.

API keys look like `wsk_<27 base62 chars of 160 random bits><6 base62 chars of CRC32>`: the
prefix makes leaked keys easy to spot (secret scanners), the checksum lets us reject typos
without a database hit, and only a SHA-256 of the key is ever stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import zlib
from dataclasses import dataclass

API_KEY_PREFIX = "wsk_"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY_LEN = 27  # 62**27 > 2**160
_CHECK_LEN = 6  # 62**6 > 2**32


def _base62(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, rem = divmod(value, 62)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECK_LEN)


def generate_api_key() -> str:
    body = _base62(secrets.randbits(160), _BODY_LEN)
    return f"{API_KEY_PREFIX}{body}{_checksum(body)}"


def api_key_well_formed(key: str) -> bool:
    if not key.startswith(API_KEY_PREFIX) or len(key) != len(API_KEY_PREFIX) + 33:
        return False
    rest = key[len(API_KEY_PREFIX) :]
    if any(c not in _ALPHABET for c in rest):
        return False
    body, check = rest[:_BODY_LEN], rest[_BODY_LEN:]
    return hmac.compare_digest(_checksum(body), check)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[:10]


@dataclass(frozen=True)
class UrlGrant:
    """What a signed URL allows: one method on one object key until `expires`; for uploads,
    at most `max_bytes` of exactly `content_type`."""

    method: str
    key: str
    expires: int
    max_bytes: int | None = None
    content_type: str | None = None

    def canonical(self) -> bytes:
        parts = [
            self.method.upper(),
            self.key,
            str(self.expires),
            "" if self.max_bytes is None else str(self.max_bytes),
            self.content_type or "",
        ]
        return "\n".join(parts).encode()


class UrlSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(self, grant: UrlGrant) -> str:
        digest = hmac.new(self._secret, grant.canonical(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def verify(self, grant: UrlGrant, signature: str) -> bool:
        return hmac.compare_digest(self.sign(grant), signature)
