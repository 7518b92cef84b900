"""Fixtures for the API tests: the app over a migrated database (SQLite and PostgreSQL), two
tenants with a key each, and an in-process HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.api import ApiDeps, create_api
from herald.domain.records import TenantSettings
from herald.settings import Settings
from herald.storage.crypto import SecretBox, generate_secret_key
from herald.storage.engine import create_engine
from herald.storage.migrate import upgrade
from tests.api.api_helpers import MG, NL_SENDER, NOW, Caller, ManualClock


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
    """The API's clock, standing at NOW."""
    return ManualClock()


@pytest.fixture
def deps(engine: AsyncEngine, clock: ManualClock) -> ApiDeps:
    """The API's dependencies over the test database; no worker is expected."""
    settings = Settings(secret_key=generate_secret_key())
    return ApiDeps.build(
        settings, engine, SecretBox(settings.secret_key), clock=clock, worker_expected=False
    )


@pytest.fixture
def app(deps: ApiDeps) -> FastAPI:
    """The API app."""
    return create_api(deps)


async def _caller(app: FastAPI, deps: ApiDeps, name: str) -> AsyncIterator[Caller]:
    tenant = await deps.tenants.create(
        name,
        now=NOW,
        settings=TenantSettings(
            default_region="NL",
            default_sender=NL_SENDER,
            messaging_service_sid=MG,
            templates={"otp": "Your code is {{code}}.", "hello": "Hi {{name}}!"},
        ),
    )
    created = await deps.api_keys.create(tenant.id, now=NOW)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://herald.test",
        headers={"Authorization": f"Bearer {created.key}"},
    ) as http:
        yield Caller(tenant=tenant, key=created.key, http=http)


@pytest.fixture
async def alice(app: FastAPI, deps: ApiDeps) -> AsyncIterator[Caller]:
    """Tenant `alice` with a live key."""
    async for caller in _caller(app, deps, "alice"):
        yield caller


@pytest.fixture
async def bob(app: FastAPI, deps: ApiDeps) -> AsyncIterator[Caller]:
    """Tenant `bob`, whose data alice must never see, with a live key."""
    async for caller in _caller(app, deps, "bob"):
        yield caller


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client without an API key."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://herald.test"
    ) as http:
        yield http
