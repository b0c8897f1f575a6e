"""The one small interface between services and whichever queue carries job ids."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.core.models import Job


class JobQueue(Protocol):
    async def enqueue(self, session: AsyncSession, job: Job) -> None:
        """Make `job` (already added to `session`) runnable once the transaction commits;
        never before, and never if it rolls back."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
