"""JWT bearer tokens, accepted wherever an API key is: HS256 with a shared secret and/or RS256
with a PEM public key (settings `jwt_hs256_secret`, `jwt_rs256_public_key`). The token's `sub`
is the account id; `exp` is required; `iss`/`aud` are checked when configured.

Only the algorithms with a configured key are accepted, so a token can never pick its own
verification (no `none`, no HS256 signed with the RS256 public key)."""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from worldsmith.config import Settings
from worldsmith.core.errors import Unauthorized


@dataclass(frozen=True)
class VerifiedToken:
    subject: str
    expires_at: float


def looks_like_jwt(token: str) -> bool:
    parts = token.split(".")
    return len(parts) == 3 and all(parts[:2]) and token.startswith("eyJ")


def jwt_configured(settings: Settings) -> bool:
    return bool(settings.jwt_hs256_secret or settings.jwt_rs256_public_key)


def verify_jwt(token: str, settings: Settings) -> VerifiedToken:
    """The verified token's subject and expiry; raises Unauthorized for anything else."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthorized("invalid bearer token") from None
    alg = str(header.get("alg"))
    key: str | None
    if alg == "HS256":
        key = settings.jwt_hs256_secret
    elif alg == "RS256":
        key = settings.jwt_rs256_public_key
    else:
        key = None
    if not key:
        raise Unauthorized(f"bearer token algorithm {alg!r} is not accepted")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[alg],
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            options={
                "require": ["exp", "sub"],
                "verify_aud": settings.jwt_audience is not None,
                "verify_iss": settings.jwt_issuer is not None,
            },
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the bearer token has expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid bearer token: {exc}") from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthorized("invalid bearer token: no subject")
    return VerifiedToken(subject=subject, expires_at=float(claims["exp"]))
