"""Scale-out, for real: one API process and two worker processes on PostgreSQL and an S3
server. Twenty worlds are submitted and one worker is SIGKILLed in the middle of a job: all
twenty finish, each charged exactly once, none lost.

PostgreSQL mode only (WORLDSMITH_TEST_DATABASE_URL): workers on other machines need a shared
database, and that is what Procrastinate runs on.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL
from tests.processes import Process, Server, new_account
from tests.s3_server import S3Bucket, s3_bucket, s3_server  # noqa: F401

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="scale-out runs on PostgreSQL: set WORLDSMITH_TEST_DATABASE_URL"
)

JOBS = 20
MINI_TEXT_MICRO = 230 * 800


def _env(tmp_path: Path, database_url: str, bucket: S3Bucket) -> dict[str, str]:
    env = {
        **os.environ,
        "WORLDSMITH_DATABASE_URL": database_url,
        "WORLDSMITH_DATA_DIR": str(tmp_path / "node"),
        "WORLDSMITH_SECRET_KEY": "scale-test",
        "WORLDSMITH_JOB_LEASE_SECONDS": "4",
        "WORLDSMITH_JOB_HEARTBEAT_SECONDS": "1",
    }
    for name, value in bucket.settings("scale").items():
        env[f"WORLDSMITH_{name.upper()}"] = value
    return env


def _running_job_of(engine: object, pid: int) -> str | None:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        row = conn.execute(
            text("SELECT id FROM jobs WHERE status = 'running' AND lease_owner LIKE :owner"),
            {"owner": f"%:{pid}:%"},
        ).first()
    return None if row is None else str(row[0])


def test_twenty_worlds_two_workers_one_killed(
    tmp_path: Path,
    database_url: str,
    s3_bucket: S3Bucket,  # noqa: F811
) -> None:
    env = _env(tmp_path, database_url, s3_bucket)
    account = new_account(env, "scale@example.com", "5")
    headers = {"WLT-Api-Key": str(account["apiKey"])}
    api = Server(env, tmp_path / "api.log", "--no-workers")
    workers = [
        Process(env, ["worker", "--queues", "cpu", "--concurrency", "1"], tmp_path / f"w{i}.log")
        for i in range(2)
    ]
    db = create_engine(database_url)
    try:
        api.start()
        for worker in workers:
            worker.start()
        ops = []
        for i in range(JOBS):
            resp = httpx.post(
                f"{api.url}/marble/v1/worlds:generate",
                json={
                    "world_prompt": {"type": "text", "text_prompt": f"a forest clearing {i}"},
                    "model": "Marble 0.1-mini",
                    "seed": i,
                },
                headers=headers,
                timeout=30,
            )
            assert resp.status_code == 200, resp.text
            ops.append(resp.json()["operation_id"])

        victim, killed_job = workers[0], None
        deadline = time.monotonic() + 120
        while killed_job is None:
            killed_job = _running_job_of(db, victim.pid)
            assert time.monotonic() < deadline, (tmp_path / "w0.log").read_text()[-3000:]
            time.sleep(0.05)
        victim.kill()

        deadline = time.monotonic() + 300
        pending = set(ops)
        while pending:
            for op_id in list(pending):
                state = httpx.get(f"{api.url}/marble/v1/operations/{op_id}", headers=headers)
                if state.json()["done"]:
                    assert state.json()["error"] is None, state.json()
                    pending.discard(op_id)
            assert time.monotonic() < deadline, f"{len(pending)} jobs never finished"
            time.sleep(0.5)
    finally:
        for process in (*workers, api):
            process.kill()

    with db.connect() as conn:
        statuses = conn.execute(text("SELECT id, status, attempts FROM jobs")).all()
        ledger = conn.execute(
            text("SELECT job_id, kind FROM ledger_entries WHERE job_id IS NOT NULL")
        ).all()
        balance = conn.execute(text("SELECT balance_micro_usd FROM accounts")).scalar_one()
    db.dispose()
    assert sorted(op for op, _, _ in statuses) == sorted(ops)
    assert {status for _, status, _ in statuses} == {"succeeded"}
    attempts = {op: n for op, _, n in statuses}
    assert attempts[killed_job] == 2  # taken over once after the kill
    assert sorted(job for job, kind in ledger if kind == "charge") == sorted(ops)
    assert [kind for _, kind in ledger if kind != "charge"] == []
    assert balance == 5_000_000 - JOBS * MINI_TEXT_MICRO
    files_per_world: dict[str, int] = {}
    for key in s3_bucket.keys():
        if key.startswith("scale/worlds/"):
            world = key.split("/")[2]
            files_per_world[world] = files_per_world.get(world, 0) + 1
    assert len(files_per_world) == JOBS
    assert set(files_per_world.values()) == {6}  # pano, thumbnail, collider, three SPZ
