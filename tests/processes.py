"""Running worldsmith as real processes in tests: the server, workers, the CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def new_account(env: dict[str, str], email: str, usd: str) -> dict[str, object]:
    """Migrate (as an operator would, before the first node starts) and create an account."""
    subprocess.run(
        [sys.executable, "-m", "worldsmith", "migrate"], env=env, check=True, capture_output=True
    )
    return cli(env, "accounts", "create", "--email", email, "--credits-usd", usd)


def cli(env: dict[str, str], *args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "worldsmith", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


class Process:
    """A worldsmith command in its own process group, so a kill takes its engine pool too."""

    def __init__(self, env: dict[str, str], args: list[str], log: Path) -> None:
        self.env, self.args, self.log = env, args, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "worldsmith", *self.args],
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


class Server(Process):
    def __init__(self, env: dict[str, str], log: Path, *extra: str) -> None:
        self.port = free_port()
        args = ["serve", "--port", str(self.port), "--server", "uvicorn", *extra]
        super().__init__(env, args, log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        super().start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/marble/v1/", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"server did not start: {self.log.read_text()[-2000:]}")


def sync_url(async_url: str) -> str:
    """A SQLAlchemy URL the test can open synchronously."""
    return async_url.replace("sqlite+aiosqlite", "sqlite")
