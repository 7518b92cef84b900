"""Fixtures for the webhook routes: a migrated database on each backend, a tenant, the app."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import Tenant, TwilioCredentials
from herald.settings import Settings
from herald.storage.crypto import SecretBox, generate_secret_key
from herald.storage.engine import create_engine
from herald.storage.migrate import upgrade
from herald.storage.tenants import TenantRepository
from herald.webhooks import WebhookDeps, create_router
from tests.webhooks.webhook_helpers import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, START


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
async def tenant(engine: AsyncEngine, box: SecretBox) -> Tenant:
    """A tenant whose Twilio account signs the webhooks."""
    return await TenantRepository(engine, box).create(
        "Jansen", now=START, credentials=TwilioCredentials(ACCOUNT_SID, AUTH_TOKEN)
    )


@pytest.fixture
def settings() -> Settings:
    """Herald behind the public URL Twilio calls, with one trusted proxy."""
    return Settings(public_url=PUBLIC_URL, trusted_proxies=("10.0.0.0/8",))


@pytest.fixture
def deps(engine: AsyncEngine, box: SecretBox, settings: Settings) -> WebhookDeps:
    """The routes' dependencies, with no wait for unknown messages."""
    created = WebhookDeps.create(engine=engine, box=box, settings=settings, now=lambda: START)
    return dataclasses.replace(created, unknown_message_wait=0.0)


@pytest.fixture
def app(deps: WebhookDeps, tenant: Tenant) -> FastAPI:
    """An app serving only the Twilio webhook routes."""
    application = FastAPI()
    application.include_router(create_router(deps))
    return application
