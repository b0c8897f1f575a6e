"""The contract between the job runner and an engine.

An engine runs in a worker process (possibly a child process of a worker, for CPU-heavy work),
so everything it receives is plain, picklable data and everything it produces is files in its
work directory. The runner moves those files into object storage afterwards; an engine never
touches the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

Queue = Literal["cpu", "gpu"]


class EngineInputError(Exception):
    """The job's input cannot be processed: the user's fault, so the charge is not refunded."""


class EngineCancelled(Exception):
    """The engine noticed the job was cancelled and stopped early."""


class ProgressFn(Protocol):
    def __call__(self, fraction: float, stage: str, message: str = "") -> None: ...


@dataclass
class EngineContext:
    """What an engine is given to run one job.

    `progress` must be called as work advances (fraction in 0..1, a short stage name, a message
    for people); `is_cancelled` should be polled between stages so cancellation is prompt.
    """

    work_dir: Path
    progress: ProgressFn
    is_cancelled: Callable[[], bool] = lambda: False

    def check_cancelled(self) -> None:
        if self.is_cancelled():
            raise EngineCancelled("job was cancelled")


@dataclass
class OutputFile:
    """One produced file, relative to the engine's work dir, and how to serve it."""

    name: str
    path: Path
    content_type: str


@dataclass
class EngineResult:
    files: dict[str, OutputFile] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
