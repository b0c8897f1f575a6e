"""Resolving the caller from the request's API key, accepted in any of the three headers the
surfaces use: `WLT-Api-Key` (World API), `Authorization: Bearer`, or `x-api-key`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from worldsmith.accounts.service import Principal, authenticate
from worldsmith.core.deps import ContainerDep
from worldsmith.core.errors import Unauthorized

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
    async with container.db.read() as session:
        principal = await authenticate(session, key)
    if principal is None:
        raise Unauthorized("invalid API key")
    cache.put(key, principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
