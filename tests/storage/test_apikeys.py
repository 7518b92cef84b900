"""API keys are shown once, stored hashed, authenticate their tenant, and can be revoked."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import Tenant
from herald.storage.apikeys import ApiKeyRepository, hash_key
from herald.storage.schema import api_keys
from tests.storage.storage_helpers import NOW, later


async def test_created_key_has_herald_format(engine: AsyncEngine, tenant: Tenant) -> None:
    """A key is `hk_` and 32 urlsafe characters; its prefix is what listings show."""
    created = await ApiKeyRepository(engine).create(tenant.id, label="ci", now=NOW)
    assert created.key.startswith("hk_")
    assert len(created.key) == 35
    assert created.key.startswith(created.api_key.prefix)
    assert created.api_key.label == "ci"


async def test_only_the_hash_is_stored(engine: AsyncEngine, tenant: Tenant) -> None:
    """The database holds the SHA-256 of the key, and the key nowhere."""
    created = await ApiKeyRepository(engine).create(tenant.id, now=NOW)
    async with engine.connect() as connection:
        row = (await connection.execute(select(api_keys))).one()
    assert row.key_hash == hash_key(created.key)
    assert created.key not in tuple(str(value) for value in row)


async def test_key_authenticates_its_tenant(
    engine: AsyncEngine, tenant: Tenant, other_tenant: Tenant
) -> None:
    """Each key answers with the tenant it was made for."""
    repository = ApiKeyRepository(engine)
    mine = await repository.create(tenant.id, now=NOW)
    theirs = await repository.create(other_tenant.id, now=NOW)
    assert await repository.authenticate(mine.key) == tenant
    assert await repository.authenticate(theirs.key) == other_tenant


async def test_unknown_or_malformed_key_authenticates_nobody(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """A key Herald never issued, or one without the prefix, is None."""
    repository = ApiKeyRepository(engine)
    created = await repository.create(tenant.id, now=NOW)
    altered = created.key[:-1] + ("y" if created.key.endswith("x") else "x")
    assert await repository.authenticate(altered) is None
    assert await repository.authenticate("Bearer " + created.key) is None


async def test_revoked_key_no_longer_authenticates(engine: AsyncEngine, tenant: Tenant) -> None:
    """After revocation the key is refused, and the listing shows when it was revoked."""
    repository = ApiKeyRepository(engine)
    created = await repository.create(tenant.id, now=NOW)
    revoked = await repository.revoke(tenant.id, created.api_key.id, now=later(60))
    assert revoked is not None
    assert revoked.revoked_at == later(60)
    assert await repository.authenticate(created.key) is None
    assert await repository.list(tenant.id, include_revoked=False) == []


async def test_another_tenant_cannot_revoke(
    engine: AsyncEngine, tenant: Tenant, other_tenant: Tenant
) -> None:
    """Revoking a key through another tenant finds nothing and leaves the key working."""
    repository = ApiKeyRepository(engine)
    created = await repository.create(tenant.id, now=NOW)
    assert await repository.revoke(other_tenant.id, created.api_key.id, now=later(1)) is None
    assert await repository.authenticate(created.key) == tenant


async def test_list_shows_only_the_tenants_keys_without_secrets(
    engine: AsyncEngine, tenant: Tenant, other_tenant: Tenant
) -> None:
    """A tenant's listing holds its own keys, oldest first, as prefixes only."""
    repository = ApiKeyRepository(engine)
    first = await repository.create(tenant.id, label="one", now=NOW)
    second = await repository.create(tenant.id, label="two", now=later(1))
    await repository.create(other_tenant.id, now=NOW)
    listed = await repository.list(tenant.id)
    assert listed == [first.api_key, second.api_key]
    assert all(first.key not in repr(each) for each in listed)
