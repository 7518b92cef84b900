"""`herald keys create|list|revoke --tenant NAME`: a tenant's API keys.

`create` prints the new key alone on stdout, so that scripts can capture it
(`KEY=$(herald keys create --tenant shop)`); it is shown this once and stored only hashed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.api.deps import utc_now
from herald.cli.store import current_database, load_settings
from herald.domain.records import ApiKey, Tenant
from herald.errors import InvalidInput
from herald.storage.apikeys import ApiKeyRepository
from herald.storage.crypto import SecretBox
from herald.storage.tenants import TenantRepository

_tenant_option = click.option("--tenant", "tenant_name", required=True, help="The tenant's name.")


@click.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@_tenant_option
@click.option("--label", default="", help="What the key is for (shown in lists).")
def create(*, tenant_name: str, label: str) -> None:
    """Create a key for the tenant and print it (only the key, on stdout)."""

    async def go() -> str:
        async with _tenant(tenant_name) as (engine, tenant):
            created = await ApiKeyRepository(engine).create(tenant.id, label=label, now=utc_now())
            return created.key

    click.echo(asyncio.run(go()))


@keys.command("list")
@_tenant_option
def list_keys(*, tenant_name: str) -> None:
    """List the tenant's keys (their prefixes; keys are never shown again)."""

    async def go() -> list[ApiKey]:
        async with _tenant(tenant_name) as (engine, tenant):
            return await ApiKeyRepository(engine).list(tenant.id)

    found = asyncio.run(go())
    if not found:
        click.echo(f"Tenant {tenant_name} has no API keys; create one with: herald keys create")
        return
    click.echo(f"{'ID':<30} {'PREFIX':<12} {'CREATED':<20} {'REVOKED':<20} LABEL")
    for key in found:
        revoked = "-" if key.revoked_at is None else f"{key.revoked_at:%Y-%m-%d %H:%M:%S}"
        click.echo(
            f"{key.id:<30} {key.prefix:<12} {key.created_at:%Y-%m-%d %H:%M:%S}  {revoked:<20} "
            f"{key.label}"
        )


@keys.command("revoke")
@click.argument("key_id")
@_tenant_option
def revoke(*, key_id: str, tenant_name: str) -> None:
    """Revoke the key KEY_ID (as listed): it stops working at once."""

    async def go() -> ApiKey | None:
        async with _tenant(tenant_name) as (engine, tenant):
            return await ApiKeyRepository(engine).revoke(tenant.id, key_id, now=utc_now())

    if asyncio.run(go()) is None:
        raise InvalidInput(
            f"Tenant {tenant_name} has no key {key_id}; `herald keys list --tenant "
            f"{tenant_name}` shows its keys."
        )
    click.echo(f"Revoked {key_id}.")


@asynccontextmanager
async def _tenant(name: str) -> AsyncIterator[tuple[AsyncEngine, Tenant]]:
    """The database and the named tenant; `InvalidInput` if there is no such tenant."""
    settings = load_settings()
    async with current_database(settings) as engine:
        tenant = await TenantRepository(engine, SecretBox(settings.secret_key)).get_by_name(name)
        if tenant is None:
            raise InvalidInput(
                f"There is no tenant named {name!r}; `herald tenants list` shows them."
            )
        yield engine, tenant
