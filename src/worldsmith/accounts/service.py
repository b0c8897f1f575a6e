"""Accounts and API keys."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.billing import service as billing
from worldsmith.core.errors import Conflict
from worldsmith.core.ids import new_id
from worldsmith.core.models import Account, ApiKey
from worldsmith.core.security import (
    api_key_well_formed,
    display_prefix,
    generate_api_key,
    hash_api_key,
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved from an API key on every request."""

    account_id: str
    api_key_id: str


async def create_account(
    session: AsyncSession, email: str, credits_micro: int = 0
) -> tuple[Account, str]:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise ValueError(f"not an email address: {email!r}")
    if await session.scalar(select(Account.id).where(Account.email == email)):
        raise Conflict(f"an account with email {email} already exists")
    account = Account(id=new_id(), email=email, balance_micro_usd=0)
    session.add(account)
    await session.flush()
    if credits_micro > 0:
        await billing.grant(session, account.id, credits_micro, "initial credits")
    key = await create_api_key(session, account.id, name="default")
    return account, key


async def create_api_key(session: AsyncSession, account_id: str, name: str | None = None) -> str:
    """Make a key and return it; only its hash is kept, so this is the one time it is seen."""
    key = generate_api_key()
    session.add(
        ApiKey(
            id=new_id(),
            account_id=account_id,
            key_hash=hash_api_key(key),
            display_prefix=display_prefix(key),
            name=name,
        )
    )
    await session.flush()
    return key


async def authenticate(session: AsyncSession, key: str) -> Principal | None:
    if not api_key_well_formed(key):
        return None
    row = (
        await session.execute(
            select(ApiKey.id, ApiKey.account_id).where(
                ApiKey.key_hash == hash_api_key(key), ApiKey.revoked_at.is_(None)
            )
        )
    ).first()
    if row is None:
        return None
    return Principal(account_id=row.account_id, api_key_id=row.id)
