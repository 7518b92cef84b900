"""Fixtures for the repositories: a migrated database on each backend, a clock, a tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import Tenant
from herald.storage.crypto import SecretBox, generate_secret_key
from herald.storage.engine import create_engine
from herald.storage.migrate import upgrade
from herald.storage.tenants import TenantRepository
from tests.storage.storage_helpers import NOW


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
    """A tenant named `acme`."""
    return await TenantRepository(engine, box).create("acme", now=NOW)


@pytest.fixture
async def other_tenant(engine: AsyncEngine, box: SecretBox) -> Tenant:
    """A second tenant, `globex`, whose data `acme` must never see."""
    return await TenantRepository(engine, box).create("globex", now=NOW)
