"""`worldsmith` command line: run the server, manage accounts and credits."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Annotated

import typer

from worldsmith.accounts import service as accounts
from worldsmith.billing import service as billing
from worldsmith.config import Settings, get_settings
from worldsmith.core.db import Database, migrate

app = typer.Typer(
    help="worldsmith: a self-hostable generative media platform", no_args_is_help=True
)
accounts_app = typer.Typer(help="Accounts and API keys", no_args_is_help=True)
credits_app = typer.Typer(help="Prepaid credits", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(credits_app, name="credits")


async def _database(settings: Settings) -> Database:
    """The database for a one-off command. An embedded (SQLite) install is migrated on the
    spot, so `accounts create` works before the first `serve`; a shared PostgreSQL database is
    only ever migrated by `serve` or `worldsmith migrate`, on purpose."""
    db = Database.from_settings(settings)
    if db.is_sqlite:
        await migrate(db.url)
    return db


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    server: Annotated[
        str | None, typer.Option(help="HTTP server: granian or uvicorn (default from settings)")
    ] = None,
    workers: Annotated[
        bool, typer.Option("--workers/--no-workers", help="Run job workers in this process")
    ] = True,
) -> None:
    """Migrate the database and run the API (with its workers unless --no-workers)."""
    if not workers:
        os.environ["WORLDSMITH_EMBEDDED_WORKERS"] = "0"
        get_settings.cache_clear()
    if "WORLDSMITH_PUBLIC_URL" not in os.environ:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        os.environ["WORLDSMITH_PUBLIC_URL"] = f"http://{shown}:{port}"
        get_settings.cache_clear()
    settings = get_settings()
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(migrate(settings.resolved_database_url()))  # fail here, loudly, not in a worker
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    choice = server or settings.server
    typer.echo(
        f"worldsmith: serving on http://{host}:{port} with {choice} (data: {settings.data_dir})"
    )
    if choice == "uvicorn":
        import uvicorn

        uvicorn.run("worldsmith.app:create_app", factory=True, host=host, port=port)
        return
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        "worldsmith.app:create_app",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=1,
    ).serve()


@app.command()
def worker(
    queues: Annotated[
        str, typer.Option(help="Comma-separated queues to take jobs from, e.g. cpu,gpu")
    ] = "cpu,gpu",
    concurrency: Annotated[int, typer.Option(help="Jobs run at the same time", min=1)] = 1,
) -> None:
    """Run a worker: takes jobs from the given queues until stopped (SIGINT/SIGTERM).

    On PostgreSQL it takes them through Procrastinate and can run on any machine that reaches
    the database and the object store; on SQLite it claims them from the local database."""
    from worldsmith.core.jobs.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    names = [q.strip() for q in queues.split(",") if q.strip()]
    asyncio.run(run_worker(get_settings(), names, concurrency))


@app.command("migrate")
def migrate_command() -> None:
    """Bring the database schema up to date."""
    settings = get_settings()
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(migrate(settings.resolved_database_url()))
    typer.echo("database is up to date")


@accounts_app.command("create")
def create_account(
    email: Annotated[str, typer.Option(help="The account's email address")],
    credits_usd: Annotated[float, typer.Option(help="Credits to grant, in USD")] = 0.0,
) -> None:
    """Create an account and its first API key; prints {"accountId", "apiKey"}."""

    async def run() -> tuple[str, str]:
        db = await _database(get_settings())
        try:
            async with db.transaction() as session:
                account, key = await accounts.create_account(
                    session, email, billing.usd_to_micro(credits_usd)
                )
            return account.id, key
        finally:
            await db.dispose()

    try:
        account_id, key = asyncio.run(run())
    except Exception as exc:  # a person typed this: say what went wrong, not a traceback
        typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps({"accountId": account_id, "apiKey": key}))


jobs_app = typer.Typer(help="Jobs", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("cancel")
def cancel_job(job_id: Annotated[str, typer.Argument(help="Job (operation) id")]) -> None:
    """Cancel a queued or running job; its charge is refunded."""
    from worldsmith.core.jobs import repository as jobs_repo

    async def run() -> str | None:
        db = await _database(get_settings())
        try:
            async with db.transaction() as session:
                return await jobs_repo.request_cancel(session, job_id)
        finally:
            await db.dispose()

    status = asyncio.run(run())
    if status is None:
        typer.echo(f"error: no job {job_id}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps({"jobId": job_id, "status": status}))


@credits_app.command("grant")
def grant_credits(
    account: Annotated[str, typer.Option(help="Account id")],
    usd: Annotated[float, typer.Option(help="Amount in USD")],
) -> None:
    """Add prepaid credits to an account."""

    async def run() -> int:
        db = await _database(get_settings())
        try:
            async with db.transaction() as session:
                return await billing.grant(
                    session, account, billing.usd_to_micro(usd), "granted from the CLI"
                )
        finally:
            await db.dispose()

    if usd <= 0:
        typer.echo("error: --usd must be positive", err=True)
        raise typer.Exit(1)
    try:
        balance = asyncio.run(run())
    except Exception as exc:
        typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps({"accountId": account, "balanceUsd": balance / billing.MICRO}))
