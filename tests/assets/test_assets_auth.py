"""JWT bearer tokens (HS256, RS256) and API keys on the Assets API; 401s in its error shape."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.assets.assets_helpers import API, error_code, upload_ready
from tests.conftest import TestAccount
from worldsmith.core.container import Container

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def _rsa_pair() -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


def _claims(sub: str, **extra: Any) -> dict[str, Any]:
    return {"sub": sub, "exp": int(time.time()) + 3600, **extra}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _status(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get(API, headers=_bearer(token))


async def test_hs256(client: httpx.AsyncClient, container: Container, account: TestAccount) -> None:
    container.settings.jwt_hs256_secret = SECRET
    mine = await upload_ready(client, account.headers)
    token = jwt.encode(_claims(account.account_id), SECRET, algorithm="HS256")
    response = await _status(client, token)
    assert response.status_code == 200, response.text
    assert [item["id"] for item in response.json()["data"]["items"]] == [mine["id"]]
    # The same token works for uploads too.
    data = await upload_ready(client, _bearer(token))
    assert data["status"] == "ready"


async def test_rs256(client: httpx.AsyncClient, container: Container, account: TestAccount) -> None:
    private, public = _rsa_pair()
    container.settings.jwt_rs256_public_key = public
    token = jwt.encode(_claims(account.account_id), private, algorithm="RS256")
    assert (await _status(client, token)).status_code == 200
    # Signed by another key: refused.
    other_private, _ = _rsa_pair()
    forged = jwt.encode(_claims(account.account_id), other_private, algorithm="RS256")
    response = await _status(client, forged)
    assert response.status_code == 401 and error_code(response) == "unauthorized"
    # HS256 "signed" with the public key (algorithm confusion) is not accepted.
    confused = jwt.encode(_claims(account.account_id), "x" * 40, algorithm="HS256")
    assert (await _status(client, confused)).status_code == 401


@pytest.mark.parametrize(
    "case", ["expired", "bad_signature", "unknown_sub", "no_exp", "alg_none", "garbage"]
)
async def test_rejected_tokens(
    client: httpx.AsyncClient, container: Container, account: TestAccount, case: str
) -> None:
    container.settings.jwt_hs256_secret = SECRET
    sub = account.account_id
    if case == "expired":
        token = jwt.encode({"sub": sub, "exp": int(time.time()) - 60}, SECRET, algorithm="HS256")
    elif case == "bad_signature":
        token = jwt.encode(_claims(sub), SECRET + "-other", algorithm="HS256")
    elif case == "unknown_sub":
        token = jwt.encode(_claims("0" * 32), SECRET, algorithm="HS256")
    elif case == "no_exp":
        token = jwt.encode({"sub": sub}, SECRET, algorithm="HS256")
    elif case == "alg_none":
        token = jwt.encode(_claims(sub), None, algorithm="none")
    else:
        token = "eyJhbGciOiJIUzI1NiJ9.not-json.sig"
    response = await _status(client, token)
    assert response.status_code == 401, response.text
    assert error_code(response) == "unauthorized"


async def test_issuer_and_audience(
    client: httpx.AsyncClient, container: Container, account: TestAccount
) -> None:
    container.settings.jwt_hs256_secret = SECRET
    container.settings.jwt_issuer = "https://issuer.example"
    container.settings.jwt_audience = "worldsmith"
    sub = account.account_id
    good = jwt.encode(
        _claims(sub, iss="https://issuer.example", aud="worldsmith"), SECRET, algorithm="HS256"
    )
    assert (await _status(client, good)).status_code == 200
    for claims in (
        _claims(sub, iss="https://evil.example", aud="worldsmith"),
        _claims(sub, iss="https://issuer.example", aud="someone-else"),
        _claims(sub),
    ):
        token = jwt.encode(claims, SECRET, algorithm="HS256")
        assert (await _status(client, token)).status_code == 401


async def test_jwt_not_configured(client: httpx.AsyncClient, account: TestAccount) -> None:
    token = jwt.encode(_claims(account.account_id), SECRET, algorithm="HS256")
    response = await _status(client, token)
    assert response.status_code == 401 and error_code(response) == "unauthorized"


async def test_api_key_headers(client: httpx.AsyncClient, account: TestAccount) -> None:
    for headers in (
        {"Authorization": f"Bearer {account.api_key}"},
        {"x-api-key": account.api_key},
        account.headers,
    ):
        assert (await client.get(API, headers=headers)).status_code == 200
    response = await client.get(API)
    assert response.status_code == 401 and error_code(response) == "unauthorized"
    response = await client.get(API, headers={"Authorization": "Bearer wsk_nope"})
    assert response.status_code == 401 and error_code(response) == "unauthorized"
