"""`herald tenants create|list`: the customers of the gateway and their Twilio accounts."""

from __future__ import annotations

import asyncio

import click

from herald.api.deps import utc_now
from herald.cli.store import current_database, load_settings
from herald.domain.phone import normalise_region
from herald.domain.records import Tenant, TenantSettings
from herald.domain.records import TwilioCredentials as StoredCredentials
from herald.domain.senders import classify_sender
from herald.domain.templates import Template
from herald.errors import InvalidInput
from herald.providers import TwilioCredentials
from herald.storage.crypto import SecretBox
from herald.storage.tenants import TenantRepository


@click.group()
def tenants() -> None:
    """Create and list tenants."""


@tenants.command("create")
@click.argument("name")
@click.option("--twilio-account-sid", help="The tenant's Twilio account (AC...).")
@click.option("--twilio-auth-token", help="Its auth token (or the API key's secret).")
@click.option("--twilio-api-key-sid", help="An API key (SK...) to use instead of the token.")
@click.option("--default-from", help="Default sender: a number, MG..., alphanumeric ID.")
@click.option("--default-region", help="Region (e.g. NL) for numbers without a country code.")
@click.option("--messaging-service-sid", help="Messaging Service (MG...) when no sender fits.")
@click.option(
    "--template",
    "templates",
    multiple=True,
    metavar="NAME=BODY",
    help="A message template, e.g. otp='Your code is {{code}}.'; repeat for more.",
)
def create(
    *,
    name: str,
    twilio_account_sid: str | None,
    twilio_auth_token: str | None,
    twilio_api_key_sid: str | None,
    default_from: str | None,
    default_region: str | None,
    messaging_service_sid: str | None,
    templates: tuple[str, ...],
) -> None:
    """Create the tenant NAME."""
    credentials = _credentials(twilio_account_sid, twilio_auth_token, twilio_api_key_sid)
    region = None if default_region is None else normalise_region(default_region)
    if default_from is not None:
        default_from = classify_sender(default_from, region).value
    settings = TenantSettings(
        default_sender=default_from,
        default_region=region,
        messaging_service_sid=messaging_service_sid,
        templates=_templates(templates),
    )
    tenant = asyncio.run(_create(name, credentials, settings))
    click.echo(f"Created tenant {tenant.name} ({tenant.id}).")


@tenants.command("list")
def list_tenants() -> None:
    """List every tenant."""
    found = asyncio.run(_list())
    if not found:
        click.echo("No tenants yet; create one with: herald tenants create NAME")
        return
    click.echo(f"{'NAME':<20} {'ID':<31} {'TWILIO ACCOUNT':<35} DEFAULT FROM")
    for tenant in found:
        account = tenant.twilio_account_sid or "-"
        sender = tenant.settings.default_sender or tenant.settings.messaging_service_sid or "-"
        click.echo(f"{tenant.name:<20} {tenant.id:<31} {account:<35} {sender}")


def _credentials(
    account_sid: str | None, secret: str | None, key_sid: str | None
) -> StoredCredentials | None:
    if account_sid is None and secret is None and key_sid is None:
        return None
    if account_sid is None or secret is None:
        raise InvalidInput(
            "Give --twilio-account-sid with --twilio-auth-token (or with --twilio-api-key-sid "
            "and the key's secret as --twilio-auth-token)."
        )
    # The provider's own type checks the SIDs' shapes before anything is stored.
    checked = TwilioCredentials(account_sid=account_sid, secret=secret, api_key_sid=key_sid)
    return StoredCredentials(
        account_sid=checked.account_sid, secret=checked.secret, key_sid=checked.api_key_sid
    )


def _templates(pairs: tuple[str, ...]) -> dict[str, str]:
    templates: dict[str, str] = {}
    for pair in pairs:
        name, equals, body = pair.partition("=")
        if not equals:
            raise InvalidInput(f"--template {pair!r}: write it as NAME=BODY.")
        template = Template(name.strip(), body)
        templates[template.name] = template.body
    return templates


async def _create(
    name: str, credentials: StoredCredentials | None, settings: TenantSettings
) -> Tenant:
    config = load_settings()
    async with current_database(config) as engine:
        repository = TenantRepository(engine, SecretBox(config.secret_key))
        return await repository.create(
            name, now=utc_now(), credentials=credentials, settings=settings
        )


async def _list() -> list[Tenant]:
    config = load_settings()
    async with current_database(config) as engine:
        return await TenantRepository(engine, SecretBox(config.secret_key)).list()
