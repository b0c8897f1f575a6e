"""Resolving the caller from the request's API key, accepted in any of the three headers the
surfaces use: `WLT-Api-Key` (World API), `Authorization: Bearer`, or `x-api-key`; or from a JWT
bearer token (`accounts/jwt.py`) when one is configured."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select

from worldsmith.accounts.jwt import jwt_configured, looks_like_jwt, verify_jwt
from worldsmith.accounts.service import Principal, authenticate
from worldsmith.core.container import Container
from worldsmith.core.deps import ContainerDep
from worldsmith.core.errors import Unauthorized
from worldsmith.core.models import Account
from worldsmith.core.security import API_KEY_PREFIX

PRINCIPAL_TTL_SECONDS = 30.0


def api_key_from_headers(request: Request) -> str | None:
    headers = request.headers
    for name in ("wlt-api-key", "x-api-key"):
        value = headers.get(name)
        if value:
            return value.strip()
    auth = headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None


async def current_principal(request: Request, container: ContainerDep) -> Principal:
    key = api_key_from_headers(request)
    if key is None:
        raise Unauthorized(
            "missing API key: send it in the WLT-Api-Key header (or Authorization: Bearer)"
        )
    # Keys are looked up on every request; a short per-process cache takes the database off
    # the hot path. A revoked key stops working within PRINCIPAL_TTL_SECONDS.
    cache = container.cache("principals", PRINCIPAL_TTL_SECONDS)
    principal: Principal | None = cache.get(key)
    if principal is not None:
        return principal
    if not key.startswith(API_KEY_PREFIX) and looks_like_jwt(key):
        return await _principal_from_jwt(container, key)
    async with container.db.read() as session:
        principal = await authenticate(session, key)
    if principal is None:
        raise Unauthorized("invalid API key")
    cache.put(key, principal)
    return principal


async def _principal_from_jwt(container: Container, token: str) -> Principal:
    settings = container.settings
    if not jwt_configured(settings):
        raise Unauthorized("bearer tokens are not enabled on this server; use an API key")
    verified = verify_jwt(token, settings)
    async with container.db.read() as session:
        found = await session.scalar(select(Account.id).where(Account.id == verified.subject))
    if found is None:
        raise Unauthorized("the bearer token's subject is not a known account")
    principal = Principal(account_id=found, api_key_id="jwt")
    # Cached like a key, but only when the token outlives the cache entry, so an expired token
    # is never accepted from the cache.
    if verified.expires_at - time.time() > PRINCIPAL_TTL_SECONDS:
        container.cache("principals", PRINCIPAL_TTL_SECONDS).put(token, principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
