"""Database engine, sessions and migrations, identical for SQLite and PostgreSQL.

SQLite needs two adjustments to behave like a server database under concurrency: WAL so
readers never block the writer, and `BEGIN IMMEDIATE` for transactions that will write, so
two writers queue on the busy timeout instead of failing with "database is locked" when one
upgrades a read lock. Read-only sessions keep a plain deferred BEGIN.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from worldsmith.config import Settings

READ_ONLY = "worldsmith_read_only"
AFTER_COMMIT = "worldsmith_after_commit"
AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` after this session's transaction commits (never if it rolls back): how
    jobs are dispatched only once their row and their charge are durable."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so we can choose the BEGIN kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if not self.is_sqlite:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        if settings.database_url is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings.resolved_database_url())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on error. Callbacks
        registered with `after_commit` run only once the commit has succeeded."""
        async with self._sessions() as session:
            async with session.begin():
                yield session
            callbacks: list[AfterCommit] = session.info.pop(AFTER_COMMIT, [])
            for callback in callbacks:
                await callback()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def migrations_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "migrations"


def run_migrations(url: str) -> None:
    """Bring the schema to the newest revision (blocking; call from a thread or at start-up)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["url"] = url  # not an ini option: URLs may contain "%"
    command.upgrade(config, "head")


async def migrate(url: str) -> None:
    await asyncio.to_thread(run_migrations, url)
