"""Shared fixtures: the database backends every storage test runs on.

Tests that need PostgreSQL or Redis skip on a laptop without them, saying how to enable them;
with `CI=true` they fail instead, so a CI machine can never silently skip a backend.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import hypothesis
import pytest
import redis

# No secret or full phone number in any log line of the whole run (see tests/log_scan.py).
pytest_plugins = ("tests.log_scan",)

IN_CI = os.environ.get("CI", "").lower() == "true"

# Properties are about answers, not speed: a busy 2-core machine must not turn a slow example
# into a failure (speed is measured in bench/, never asserted in tests).
hypothesis.settings.register_profile("herald", deadline=None, print_blob=True)
hypothesis.settings.load_profile("herald")
POSTGRES_URL = os.environ.get(
    "HERALD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("HERALD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _unavailable(what: str, how: str) -> None:
    message = f"{what} is not reachable; {how}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: backends must not be skipped)", pytrace=False)
    pytest.skip(message)


async def _pg_execute(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of a reachable PostgreSQL server's maintenance database."""
    try:
        asyncio.run(_pg_execute("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        _unavailable(
            f"PostgreSQL at {POSTGRES_URL} ({exc})",
            "start it or set HERALD_TEST_POSTGRES_URL to run the PostgreSQL tests.",
        )
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"herald_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file for one test."""
    return f"sqlite:///{tmp_path / 'herald.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database on each backend Herald supports: every storage test runs on both."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """A reachable Redis database (number 15), emptied before and after the test."""
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as exc:
        await client.aclose()
        _unavailable(
            f"Redis at {REDIS_URL} ({exc})",
            "start it or set HERALD_TEST_REDIS_URL to run the Redis tests.",
        )
    await client.flushdb()
    try:
        yield REDIS_URL
    finally:
        await client.flushdb()
        await client.aclose()
