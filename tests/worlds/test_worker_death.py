"""A server killed while it runs a world: the job finishes once, charged once, after restart."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.processes import Server, new_account, sync_url


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


def test_killed_server_job_finishes_once_charged_once(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    created = new_account(server_env, "k@example.com", "5")
    assert isinstance(created["apiKey"], str) and created["apiKey"].startswith("wsk_")
    headers = {"WLT-Api-Key": created["apiKey"]}
    server = Server(server_env, tmp_path / "server.log")
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
    engine = create_engine(sync_url(url))
    with engine.connect() as conn:
        kinds = conn.execute(
            text("SELECT kind, amount_micro_usd FROM ledger_entries WHERE job_id = :j"),
            {"j": op_id},
        ).all()
        balance = conn.execute(text("SELECT balance_micro_usd FROM accounts")).scalar_one()
    engine.dispose()
    assert [k for k, _ in kinds] == ["charge"]
    assert balance == 5_000_000 - 230 * 800
