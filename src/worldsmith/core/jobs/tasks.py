"""What a kind of job is: how to run it, and what its outcome does to the rest of the world."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.core.models import Job

if TYPE_CHECKING:
    from worldsmith.core.jobs.context import JobContext


class JobTask(Protocol):
    kind: str
    queue: str
    engine: str | None  # "module:function" run in the engine pool, warmed at start-up

    async def run(self, job: Job, ctx: JobContext) -> dict[str, Any]:
        """Do the work and return the job's outputs. Raise EngineInputError when the input is
        unusable (the user's fault); any other exception is a platform fault."""
        ...

    async def on_finished(
        self,
        session: AsyncSession,
        job: Job,
        status: str,
        outputs: dict[str, Any] | None,
        platform_fault: bool,
    ) -> None:
        """Called in the same transaction that records the job's final status."""
        ...


class TaskRegistry:
    def __init__(self) -> None:
        self._tasks: dict[str, JobTask] = {}

    def register(self, task: JobTask) -> None:
        self._tasks[task.kind] = task

    def get(self, kind: str) -> JobTask:
        try:
            return self._tasks[kind]
        except KeyError:
            raise LookupError(f"no task registered for job kind {kind!r}") from None

    def engines(self, queues: list[str] | None = None) -> list[str]:
        """Engines of the tasks on `queues` (all when None): what a worker should warm."""
        return sorted(
            {
                task.engine
                for task in self._tasks.values()
                if task.engine and (queues is None or task.queue in queues)
            }
        )

    def queues(self) -> list[str]:
        return sorted({task.queue for task in self._tasks.values()})
