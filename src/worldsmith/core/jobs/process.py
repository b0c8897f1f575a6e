"""Running CPU-heavy engine code in a child process, with progress and cancellation crossing
the process boundary through two small files in the job's work directory: the child writes
`.progress.json` atomically, the parent's heartbeat reads it; the parent creates `.cancel`,
the child's `is_cancelled` sees it."""

from __future__ import annotations

import asyncio
import importlib
import json
import multiprocessing
import os
import socket
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from worldsmith.engines.base import EngineContext

PROGRESS_FILE = ".progress.json"
CANCEL_FILE = ".cancel"


class FileProgress:
    def __init__(self, work_dir: Path) -> None:
        self.path = work_dir / PROGRESS_FILE
        self.tmp = work_dir / (PROGRESS_FILE + ".tmp")

    def __call__(self, fraction: float, stage: str, message: str = "") -> None:
        self.tmp.write_text(json.dumps({"fraction": fraction, "stage": stage, "message": message}))
        os.replace(self.tmp, self.path)


def read_progress(work_dir: Path) -> tuple[float, str | None, str | None] | None:
    try:
        data = json.loads((work_dir / PROGRESS_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return float(data["fraction"]), data.get("stage"), data.get("message")


def worker_instance_id() -> str:
    """host:pid:random — who holds a lease, readable in the jobs table (host name cut so the
    id always fits the column)."""
    return f"{socket.gethostname()[:100]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _resolve(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def run_engine_in_child(fn_path: str, payload: Any, work_dir: str) -> Any:
    """Entry point in the child: look the engine function up by import path and run it."""
    directory = Path(work_dir)
    cancel_flag = directory / CANCEL_FILE
    ctx = EngineContext(
        work_dir=directory,
        progress=FileProgress(directory),
        is_cancelled=cancel_flag.exists,
    )
    return _resolve(fn_path)(payload, ctx)


def _die_with_parent() -> None:
    """Ask Linux to kill this engine process when its worker dies (even by SIGKILL), so a
    killed worker never leaves an engine burning CPU for a job someone else now runs."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the engine exits when its pipe to the parent closes


class EnginePool:
    """A lazily started pool of `spawn`ed processes (fork is unsafe with threads and an event
    loop in the parent)."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_die_with_parent,
            )
        return self._executor

    def warm(self, fn_paths: list[str]) -> None:
        """Start the processes and import the engines now, so the first job does not pay
        for spawning Python and importing numpy/scipy (seconds on a small machine)."""
        pool = self._pool()
        for _ in range(self.processes):
            for path in fn_paths:
                pool.submit(_resolve, path)

    async def run(self, fn_path: str, payload: Any, work_dir: Path) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool(), run_engine_in_child, fn_path, payload, str(work_dir)
        )

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
