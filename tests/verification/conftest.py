"""Fixtures for the verification tests: the API over a migrated database (SQLite and
PostgreSQL), a tenant with a key, and for the Twilio Verify engine a real emulator over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.api import ApiDeps, create_api
from herald.domain.records import TenantSettings, TwilioCredentials
from herald.settings import Settings
from herald.storage.crypto import SecretBox, generate_secret_key
from herald.storage.engine import create_engine
from herald.storage.migrate import upgrade
from herald.storage.tenants import TenantRepository
from herald.verification.clients import TenantVerifyClients
from tests.api.api_helpers import NL_SENDER, NOW, Caller, ManualClock
from tests.emulator.conftest import RunningEmulator, emulator

__all__ = ["emulator"]

PROXY = "10.0.0.1"
"""The reverse proxy the API trusts with X-Forwarded-For."""


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
def clock() -> ManualClock:
    """Herald's clock, standing at NOW."""
    return ManualClock()


@pytest.fixture
def settings() -> Settings:
    """Settings with a secret key and one trusted proxy."""
    return Settings(secret_key=generate_secret_key(), trusted_proxies=(PROXY,))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session for the Twilio Verify client."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def deps(
    engine: AsyncEngine,
    clock: ManualClock,
    settings: Settings,
    session: aiohttp.ClientSession,
    request: pytest.FixtureRequest,
) -> ApiDeps:
    """The API's dependencies; Twilio Verify reaches the emulator when a test uses it."""
    box = SecretBox(settings.secret_key)
    base_url = settings.twilio_base_url
    if "emulator" in request.fixturenames:
        running: RunningEmulator = request.getfixturevalue("emulator")
        base_url = running.base_url
    return ApiDeps.build(
        settings,
        engine,
        box,
        clock=clock,
        worker_expected=False,
        verify_clients=TenantVerifyClients(session, TenantRepository(engine, box), base_url),
    )


@pytest.fixture
def app(deps: ApiDeps) -> FastAPI:
    """The API app."""
    return create_api(deps)


@pytest.fixture
async def alice(app: FastAPI, deps: ApiDeps) -> AsyncIterator[Caller]:
    """Tenant `alice` (Dutch default region and sender) with a live key."""
    tenant = await deps.tenants.create(
        "alice",
        now=NOW,
        settings=TenantSettings(default_region="NL", default_sender=NL_SENDER),
    )
    created = await deps.api_keys.create(tenant.id, now=NOW)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(PROXY, 40000)),
        base_url="http://herald.test",
        headers={"Authorization": f"Bearer {created.key}"},
    ) as http:
        yield Caller(tenant=tenant, key=created.key, http=http)


@pytest.fixture
async def on_twilio(alice: Caller, deps: ApiDeps, emulator: RunningEmulator) -> Caller:
    """Alice on the twilio_verify engine, with the emulator's main account as her account."""
    await deps.tenants.set_credentials(
        alice.tenant.id,
        TwilioCredentials(
            account_sid=emulator.config.account_sid, secret=emulator.config.auth_token
        ),
        now=NOW,
    )
    response = await alice.http.put("/v1/verifications/settings", json={"engine": "twilio_verify"})
    assert response.status_code == 200, response.text
    return alice
