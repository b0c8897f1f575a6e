"""Shared fixtures: a real app (real database, real local store, real workers) per test.

The database is SQLite in the test's folder by default. With WORLDSMITH_TEST_DATABASE_URL set
(a PostgreSQL URL), each test gets a fresh schema in that database instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from worldsmith.accounts import service as accounts
from worldsmith.app import create_app
from worldsmith.billing.service import usd_to_micro
from worldsmith.config import Settings
from worldsmith.core.container import Container

PG_URL = os.environ.get("WORLDSMITH_TEST_DATABASE_URL")
BASE_URL = "http://testserver"


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def workers_for(request: pytest.FixtureRequest) -> int:
    """Tests marked `no_workers` keep jobs queued (no embedded worker claims them)."""
    return 0 if request.node.get_closest_marker("no_workers") else 1


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None, request: pytest.FixtureRequest) -> Settings:
    return Settings(
        embedded_workers=workers_for(request),
        data_dir=tmp_path / "data",
        database_url=database_url,
        public_url=BASE_URL,
        secret_key="test-secret-key",
        job_poll_seconds=0.2,
        job_heartbeat_seconds=1.0,
        job_lease_seconds=30.0,
        fetch_allow_private=True,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def container(app: FastAPI) -> Container:
    found: Container = app.state.container
    return found


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=60) as http:
        yield http


@dataclass
class TestAccount:
    __test__ = False

    account_id: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"WLT-Api-Key": self.api_key}


async def make_account(container: Container, usd: float = 20.0) -> TestAccount:
    async with container.db.transaction() as session:
        account, key = await accounts.create_account(
            session, f"{uuid.uuid4().hex[:10]}@example.com", usd_to_micro(usd)
        )
    return TestAccount(account.id, key)


@pytest.fixture
async def account(container: Container) -> TestAccount:
    return await make_account(container)


@pytest.fixture
async def other_account(container: Container) -> TestAccount:
    return await make_account(container)
