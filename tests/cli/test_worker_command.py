"""`herald worker`: refuses what it cannot run on, and runs and stops on a migrated database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner

from herald.cli import main
from herald.cli.worker import run
from herald.gateway import Gateway
from herald.settings import Settings
from herald.storage.crypto import SecretBox, generate_secret_key
from herald.storage.engine import create_engine
from herald.storage.migrate import upgrade
from herald.storage.tenants import TenantRepository
from herald.worker.providers import ProviderFactory


def test_worker_without_a_secret_key_says_which_setting_to_give(tmp_path: Path) -> None:
    """No HERALD_SECRET_KEY: exit 1 with a one-line reason naming it."""
    result = CliRunner().invoke(
        main,
        ["worker"],
        env={"HERALD_HOME": str(tmp_path), "HERALD_DATABASE_URL": f"sqlite:///{tmp_path}/h.db"},
    )
    assert result.exit_code == 1
    assert "HERALD_SECRET_KEY" in result.output


def test_worker_on_an_unmigrated_database_says_to_migrate(tmp_path: Path) -> None:
    """A database without Herald's schema: exit 1 telling to run `herald migrate`."""
    result = CliRunner().invoke(
        main,
        ["worker"],
        env={
            "HERALD_HOME": str(tmp_path),
            "HERALD_DATABASE_URL": f"sqlite:///{tmp_path}/h.db",
            "HERALD_SECRET_KEY": generate_secret_key(),
        },
    )
    assert result.exit_code == 1
    assert "herald migrate" in result.output


async def test_worker_runs_until_told_to_stop(database_url: str, tmp_path: Path) -> None:
    """On a migrated database the worker starts, says so, and stops when asked."""
    engine = create_engine(database_url)
    await upgrade(engine)
    await engine.dispose()
    settings = Settings(home=tmp_path, database_url=database_url, secret_key=generate_secret_key())
    printed: list[str] = []
    stop = asyncio.Event()
    running = asyncio.create_task(run(settings, echo=printed.append, stop=stop))
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(running, timeout=15)
    assert printed[0].startswith("Herald worker sending through")
    assert printed[-1] == "Worker stopped."


def test_a_gateway_must_serve_or_work() -> None:
    """A gateway with neither HTTP nor a worker is refused at once."""
    with pytest.raises(ValueError, match="runs the worker, serves HTTP, or both"):
        Gateway(Settings(), run_worker=False, serve_http=False)


async def test_twilio_requests_end_well_inside_the_lease(sqlite_url: str) -> None:
    """With a 6 s lease each Twilio request of the worker may take at most 2 s."""
    settings = Settings(database_url=sqlite_url, worker_lease_seconds=6.0)
    engine = create_engine(sqlite_url)
    try:
        async with aiohttp.ClientSession() as session:
            tenants = TenantRepository(engine, SecretBox(generate_secret_key()))
            factory = ProviderFactory(session, tenants, settings)
            assert factory._timeout.total == 2.0  # noqa: SLF001 - the bound under test
    finally:
        await engine.dispose()
