"""A server killed while it runs a world: the job finishes once, charged once, after restart."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "worldsmith",
                "serve",
                "--port",
                str(self.port),
                "--server",
                "uvicorn",
            ],
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the engine pool dies with it
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/marble/v1/", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"server did not start: {self.log.read_text()[-2000:]}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


@pytest.fixture
def server_env(tmp_path: Path, database_url: str | None) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "WORLDSMITH_DATA_DIR": str(tmp_path / "data"),
        "WORLDSMITH_SECRET_KEY": "kill-test",
        "WORLDSMITH_JOB_LEASE_SECONDS": "3",
        "WORLDSMITH_JOB_HEARTBEAT_SECONDS": "1",
        "WORLDSMITH_JOB_POLL_SECONDS": "0.2",
    }
    if database_url:
        env["WORLDSMITH_DATABASE_URL"] = database_url
    yield env


def _create_account(env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "worldsmith",
            "accounts",
            "create",
            "--email",
            "k@example.com",
            "--credits-usd",
            "5",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    created: dict[str, str] = json.loads(out.stdout)
    return created


def test_killed_server_job_finishes_once_charged_once(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    created = _create_account(server_env)
    assert created["apiKey"].startswith("wsk_")
    headers = {"WLT-Api-Key": created["apiKey"]}
    server = Server(server_env, _free_port(), tmp_path / "server.log")
    server.start()
    op = httpx.post(
        f"{server.url}/marble/v1/worlds:generate",
        json={
            "world_prompt": {"type": "text", "text_prompt": "a snowy mountain pass"},
            "model": "Marble 0.1-mini",
            "seed": 7,
        },
        headers=headers,
        timeout=30,
    ).json()
    op_id = op["operation_id"]
    deadline = time.monotonic() + 60
    while True:  # wait until a worker is inside the job
        state = httpx.get(f"{server.url}/marble/v1/operations/{op_id}", headers=headers).json()
        if state["metadata"]["progress"]["status"] == "RUNNING":
            break
        assert time.monotonic() < deadline and not state["done"]
        time.sleep(0.05)
    server.kill()

    server.start()  # a new process: it must take the job over once the lease lapses
    deadline = time.monotonic() + 180
    while True:
        state = httpx.get(f"{server.url}/marble/v1/operations/{op_id}", headers=headers).json()
        if state["done"]:
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.3)
    server.kill()
    assert state["error"] is None, state
    assert state["metadata"]["attempts"] == 2
    spz = state["response"]["assets"]["splats"]["spz_urls"]
    assert set(spz) == {"100k", "500k", "full_res"}

    url = server_env.get("WORLDSMITH_DATABASE_URL") or (
        "sqlite:///" + str(Path(server_env["WORLDSMITH_DATA_DIR"]) / "worldsmith.db")
    )
    engine = create_engine(url.replace("+aiosqlite", ""))
    with engine.connect() as conn:
        kinds = conn.execute(
            text("SELECT kind, amount_micro_usd FROM ledger_entries WHERE job_id = :j"),
            {"j": op_id},
        ).all()
        balance = conn.execute(text("SELECT balance_micro_usd FROM accounts")).scalar_one()
    engine.dispose()
    assert [k for k, _ in kinds] == ["charge"]
    assert balance == 5_000_000 - 230 * 800
