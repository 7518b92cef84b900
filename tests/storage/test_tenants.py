"""Tenants: unique names, settings, and Twilio credentials encrypted at rest."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import Tenant, TenantSettings, TwilioCredentials
from herald.errors import ConfigurationError, Conflict, InvalidInput
from herald.storage.crypto import SecretBox, generate_secret_key
from herald.storage.schema import tenants
from herald.storage.tenants import TenantRepository
from tests.storage.storage_helpers import NOW, later

CREDENTIALS = TwilioCredentials(account_sid="AC" + "a" * 32, secret="auth-token-1234567890")


async def test_create_then_find_by_id_and_name(engine: AsyncEngine, box: SecretBox) -> None:
    """A created tenant is found by its id and by its name."""
    repository = TenantRepository(engine, box)
    created = await repository.create("acme", now=NOW)
    assert created.id.startswith("ten_")
    assert created.created_at == NOW
    assert await repository.get(created.id) == created
    assert await repository.get_by_name("acme") == created
    assert await repository.get_by_name("nobody") is None


async def test_duplicate_name_is_a_conflict(
    engine: AsyncEngine, tenant: Tenant, box: SecretBox
) -> None:
    """A second tenant with a taken name is refused, naming the name."""
    with pytest.raises(Conflict, match="'acme' already exists"):
        await TenantRepository(engine, box).create("acme", now=NOW)


async def test_blank_name_is_invalid(engine: AsyncEngine, box: SecretBox) -> None:
    """An empty name is refused before anything is stored."""
    with pytest.raises(InvalidInput, match="tenant name"):
        await TenantRepository(engine, box).create("  ", now=NOW)


async def test_list_is_by_name(engine: AsyncEngine, box: SecretBox) -> None:
    """Tenants are listed in name order."""
    repository = TenantRepository(engine, box)
    await repository.create("zeta", now=NOW)
    await repository.create("alpha", now=NOW)
    assert [each.name for each in await repository.list()] == ["alpha", "zeta"]


async def test_update_settings_replaces_them(
    engine: AsyncEngine, tenant: Tenant, box: SecretBox
) -> None:
    """New settings are stored whole, including keyword additions and templates."""
    settings = TenantSettings(
        default_sender="+14155550100",
        default_region="NL",
        help_reply="Reply STOP to stop.",
        keyword_additions={"opt_out": ("KAPPEN",)},
        templates={"otp": "Your code is {{code}}"},
    )
    updated = await TenantRepository(engine, box).update_settings(tenant.id, settings, now=later(5))
    assert updated is not None
    assert updated.settings == settings
    assert updated.updated_at == later(5)
    assert (await TenantRepository(engine, box).get(tenant.id)) == updated


async def test_update_of_unknown_tenant_is_none(engine: AsyncEngine, box: SecretBox) -> None:
    """Updating a tenant that does not exist changes nothing and says so."""
    assert (
        await TenantRepository(engine, box).update_settings("ten_x", TenantSettings(), now=NOW)
        is None
    )


async def test_credentials_round_trip(engine: AsyncEngine, box: SecretBox) -> None:
    """Credentials given at creation are returned decrypted, and the tenant shows it has them."""
    repository = TenantRepository(engine, box)
    created = await repository.create("acme", now=NOW, credentials=CREDENTIALS)
    assert created.has_twilio_secret
    assert created.twilio_account_sid == CREDENTIALS.account_sid
    assert await repository.credentials(created.id) == CREDENTIALS


async def test_secret_is_encrypted_in_the_database(engine: AsyncEngine, box: SecretBox) -> None:
    """The stored column holds a Fernet token, never the secret itself."""
    created = await TenantRepository(engine, box).create("acme", now=NOW, credentials=CREDENTIALS)
    async with engine.connect() as connection:
        stored = await connection.scalar(
            select(tenants.c.twilio_secret_encrypted).where(tenants.c.id == created.id)
        )
    assert stored is not None
    assert CREDENTIALS.secret not in stored


async def test_api_key_credentials_use_the_key_sid(
    engine: AsyncEngine, tenant: Tenant, box: SecretBox
) -> None:
    """With an API key, the key SID is the user name Herald authenticates with."""
    repository = TenantRepository(engine, box)
    key = TwilioCredentials(account_sid="AC" + "b" * 32, key_sid="SK" + "c" * 32, secret="s3cret")
    await repository.set_credentials(tenant.id, key, now=later(1))
    found = await repository.credentials(tenant.id)
    assert found == key
    assert found is not None
    assert found.username == key.key_sid


async def test_tenant_without_credentials_has_none(
    engine: AsyncEngine, tenant: Tenant, box: SecretBox
) -> None:
    """A tenant created without credentials reports none."""
    assert not tenant.has_twilio_secret
    assert await TenantRepository(engine, box).credentials(tenant.id) is None


async def test_wrong_secret_key_is_a_configuration_error(
    engine: AsyncEngine, box: SecretBox
) -> None:
    """Reading credentials under a different HERALD_SECRET_KEY fails with a clear error."""
    created = await TenantRepository(engine, box).create("acme", now=NOW, credentials=CREDENTIALS)
    other = TenantRepository(engine, SecretBox(generate_secret_key()))
    with pytest.raises(ConfigurationError, match="HERALD_SECRET_KEY"):
        await other.credentials(created.id)
