"""Fixtures for the worker: a migrated database on each backend, a fake Twilio, a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import Tenant, TwilioCredentials
from herald.settings import Settings
from herald.storage.crypto import SecretBox, generate_secret_key
from herald.storage.engine import create_engine
from herald.storage.migrate import upgrade
from herald.storage.tenants import TenantRepository
from herald.worker import InProcessRateLimiter, WorkerDeps
from tests.worker.worker_helpers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    START,
    FlakyLookupTwilio,
    ManualClock,
    OneProvider,
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a freshly migrated database (SQLite and PostgreSQL)."""
    engine = create_engine(database_url)
    await upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def box() -> SecretBox:
    """A secret box under a fresh key."""
    return SecretBox(generate_secret_key())


@pytest.fixture
def clock() -> ManualClock:
    """The manual clock every part of the worker reads."""
    return ManualClock()


@pytest.fixture
def fake(clock: ManualClock) -> FlakyLookupTwilio:
    """The fake Twilio the worker sends through."""
    return FlakyLookupTwilio(clock=clock.now)


@pytest.fixture
def settings() -> Settings:
    """Settings with Herald's public URL."""
    return Settings(public_url="https://herald.example.com")


@pytest.fixture
async def tenant(engine: AsyncEngine, box: SecretBox) -> Tenant:
    """A tenant with Twilio credentials."""
    return await TenantRepository(engine, box).create(
        "acme", now=START, credentials=TwilioCredentials(ACCOUNT_SID, AUTH_TOKEN)
    )


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """The worker's aiohttp session."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def deps(
    *,
    engine: AsyncEngine,
    box: SecretBox,
    settings: Settings,
    session: aiohttp.ClientSession,
    fake: FlakyLookupTwilio,
    clock: ManualClock,
) -> WorkerDeps:
    """The worker's dependencies, on the fake Twilio and the manual clock."""
    return WorkerDeps.create(
        engine=engine,
        box=box,
        settings=settings,
        session=session,
        providers=OneProvider(fake),
        limiter=InProcessRateLimiter(clock=clock.seconds),
        now=clock.now,
        worker_id="worker-1",
    )
