"""The provider factory: one Twilio client per tenant, from its stored credentials."""

from __future__ import annotations

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import Tenant, TwilioCredentials
from herald.errors import ConfigurationError
from herald.providers import TwilioClient
from herald.settings import Settings
from herald.storage.crypto import SecretBox
from herald.storage.tenants import TenantRepository
from herald.worker import ProviderFactory
from tests.worker.worker_helpers import ACCOUNT_SID, START


def _factory(
    session: aiohttp.ClientSession, engine: AsyncEngine, box: SecretBox, now: list[float]
) -> ProviderFactory:
    return ProviderFactory(session, TenantRepository(engine, box), Settings(), clock=lambda: now[0])


async def test_a_tenants_client_acts_on_its_account(
    session: aiohttp.ClientSession, engine: AsyncEngine, box: SecretBox, tenant: Tenant
) -> None:
    """The client is a TwilioClient on the tenant's account."""
    client = await _factory(session, engine, box, [0.0]).for_tenant(tenant.id)
    assert isinstance(client, TwilioClient)
    assert client.account_sid == ACCOUNT_SID


async def test_the_client_is_cached(
    session: aiohttp.ClientSession, engine: AsyncEngine, box: SecretBox, tenant: Tenant
) -> None:
    """Asking twice gives the same client."""
    factory = _factory(session, engine, box, [0.0])
    assert await factory.for_tenant(tenant.id) is await factory.for_tenant(tenant.id)


async def test_new_credentials_are_picked_up_after_the_refresh(
    session: aiohttp.ClientSession, engine: AsyncEngine, box: SecretBox, tenant: Tenant
) -> None:
    """Once the cache is due for a refresh, changed credentials give a new client."""
    now = [0.0]
    factory = _factory(session, engine, box, now)
    first = await factory.for_tenant(tenant.id)
    other = "AC" + "c" * 32
    await TenantRepository(engine, box).set_credentials(
        tenant.id, TwilioCredentials(other, "d" * 32), now=START
    )
    now[0] = 61.0
    second = await factory.for_tenant(tenant.id)
    assert second is not first
    assert isinstance(second, TwilioClient)
    assert second.account_sid == other


async def test_a_tenant_without_credentials_is_a_configuration_error(
    session: aiohttp.ClientSession, engine: AsyncEngine, box: SecretBox
) -> None:
    """A tenant with no Twilio credentials cannot get a client, and is told why."""
    bare = await TenantRepository(engine, box).create("bare", now=START)
    with pytest.raises(ConfigurationError, match="no Twilio credentials"):
        await _factory(session, engine, box, [0.0]).for_tenant(bare.id)
