"""Fixtures for the admin page tests: the gateway's app (API and admin pages) over a migrated
database on SQLite and PostgreSQL, a tenant, and a browser-like client with a cookie jar."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.admin import router
from herald.api import ApiDeps, create_api
from herald.domain.records import Tenant
from herald.settings import Settings
from herald.storage.crypto import SecretBox, generate_secret_key
from herald.storage.engine import create_engine
from herald.storage.migrate import upgrade
from tests.admin.admin_helpers import ADMIN_KEY, NOW, sign_in


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
def settings() -> Settings:
    """Settings with an admin key."""
    return Settings(secret_key=generate_secret_key(), admin_key=ADMIN_KEY)


@pytest.fixture
def deps(engine: AsyncEngine, settings: Settings) -> ApiDeps:
    """The app's dependencies over the test database, with the clock at NOW."""
    return ApiDeps.build(
        settings,
        engine,
        SecretBox(settings.secret_key),
        clock=lambda: NOW,
        worker_expected=False,
    )


@pytest.fixture
def app(deps: ApiDeps) -> FastAPI:
    """The API with the admin pages mounted, as the gateway builds it."""
    return create_api(deps, extra_routers=[router])


@pytest.fixture
async def tenant(deps: ApiDeps) -> Tenant:
    """The tenant `acme`."""
    return await deps.tenants.create("acme", now=NOW)


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps cookies, not signed in."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http:
        yield http


@pytest.fixture
async def admin(browser: httpx.AsyncClient) -> httpx.AsyncClient:
    """The same client, signed in with the admin key."""
    response = await sign_in(browser)
    assert response.status_code == 303, response.text
    return browser
