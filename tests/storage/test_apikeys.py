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


class Clock:
    """Monotonic seconds that a test moves by hand."""

    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


async def test_a_live_key_is_remembered_for_the_cache_time(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """With a cache, a key revoked by another process still works until its memory expires;
    revoked through the same repository, it stops at once."""
    clock = Clock()
    serving = ApiKeyRepository(engine, cache_seconds=2.0, clock=clock)
    elsewhere = ApiKeyRepository(engine)
    first = await elsewhere.create(tenant.id, now=NOW)
    second = await elsewhere.create(tenant.id, now=NOW)
    assert await serving.authenticate(first.key) == tenant
    assert await serving.authenticate(second.key) == tenant
    await elsewhere.revoke(tenant.id, first.api_key.id, now=later(1))
    clock.value += 1.9
    assert await serving.authenticate(first.key) == tenant  # remembered
    clock.value += 0.2
    assert await serving.authenticate(first.key) is None  # looked up again: revoked
    await serving.revoke(tenant.id, second.api_key.id, now=later(2))
    assert await serving.authenticate(second.key) is None  # forgotten on revocation


async def test_unknown_keys_are_never_remembered(engine: AsyncEngine, tenant: Tenant) -> None:
    """A key is remembered only once found live: one created after a miss works at once."""
    clock = Clock()
    serving = ApiKeyRepository(engine, cache_seconds=60.0, clock=clock)
    created = await ApiKeyRepository(engine).create(tenant.id, now=NOW)
    await ApiKeyRepository(engine).revoke(tenant.id, created.api_key.id, now=NOW)
    assert await serving.authenticate(created.key) is None
    fresh = await ApiKeyRepository(engine).create(tenant.id, now=NOW)
    assert await serving.authenticate(fresh.key) == tenant


async def test_without_a_cache_every_request_is_looked_up(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """`cache_seconds=0` (the default outside the API): a revocation counts at once."""
    serving = ApiKeyRepository(engine)
    created = await ApiKeyRepository(engine).create(tenant.id, now=NOW)
    assert await serving.authenticate(created.key) == tenant
    await ApiKeyRepository(engine).revoke(tenant.id, created.api_key.id, now=NOW)
    assert await serving.authenticate(created.key) is None
