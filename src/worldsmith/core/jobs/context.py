"""The worker-side handle a running job gets: progress, cancellation, scratch space."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worldsmith.core.container import Container
from worldsmith.core.jobs.process import CANCEL_FILE, EnginePool


class LeaseLost(Exception):
    """Another worker owns this job now; this one must stop without writing anything."""


@dataclass
class JobContext:
    container: Container
    job_id: str
    work_dir: Path
    engine_pool: EnginePool
    progress_value: tuple[float, str | None, str | None] | None = None
    cancelled: bool = False
    lease_lost: bool = False
    _dirty: bool = field(default=False, repr=False)

    def progress(self, fraction: float, stage: str, message: str = "") -> None:
        self.progress_value = (max(0.0, min(1.0, fraction)), stage, message)
        self._dirty = True

    def take_progress(self) -> tuple[float, str | None, str | None] | None:
        """The progress not yet persisted, if any (the heartbeat writes it)."""
        if not self._dirty:
            return None
        self._dirty = False
        return self.progress_value

    def signal_stop(self) -> None:
        (self.work_dir / CANCEL_FILE).touch()

    async def run_engine(self, fn_path: str, payload: Any) -> Any:
        if self.lease_lost:
            raise LeaseLost(self.job_id)
        return await self.engine_pool.run(fn_path, payload, self.work_dir)
