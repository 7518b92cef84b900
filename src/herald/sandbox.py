"""The sandbox: Herald on a laptop with no Twilio account, against its own emulator.

When no Twilio credentials are configured, `herald serve` calls `Sandbox.start()`, which:

1. makes `HERALD_HOME` and, unless `HERALD_SECRET_KEY` is set, reads or generates the key that
   encrypts provider secrets (`HERALD_HOME/secret_key`, mode 0600) and, unless
   `HERALD_ADMIN_KEY` is set, the admin pages' key (`HERALD_HOME/admin_key`, mode 0600);
2. migrates the database (outside the sandbox `serve` refuses an outdated schema instead);
3. starts the Twilio emulator on `HERALD_EMULATOR_PORT`, in the same event loop;
4. buys a US number there, creates a Messaging Service holding it, points the number's
   incoming-message webhook at `{base_url}/webhooks/twilio/inbound`, and registers it as a
   WhatsApp sender;
5. creates (or updates) the tenant `default` with the emulator account's credentials, the
   number as its default sender and the Service;
6. creates an API key for it, or reuses the one from the previous run.

The emulator keeps its state in memory, so numbers, messages and Services are gone when Herald
stops. What should survive a restart is kept in `HERALD_HOME/sandbox.json` (mode 0600): the
emulator account's credentials (so the tenant's stored credentials stay valid), the number
(bought again on the next start when the emulator still has it on sale) and the API key (so a
curl in your shell history keeps working). Delete the file to start afresh.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.api.deps import Clock, utc_now
from herald.domain.records import Tenant, TenantSettings
from herald.domain.records import TwilioCredentials as StoredCredentials
from herald.emulator import EmulatorConfig, create_app
from herald.errors import ConfigurationError, ProviderError
from herald.gateway import Servers
from herald.providers import IncomingNumber, TwilioClient, TwilioCredentials
from herald.settings import Settings
from herald.storage.apikeys import ApiKeyRepository
from herald.storage.crypto import SecretBox, generate_secret_key
from herald.storage.engine import create_engine
from herald.storage.migrate import upgrade
from herald.storage.tenants import TenantRepository

SECRET_KEY_FILE: Final = "secret_key"  # noqa: S105 - a file name, not a secret
ADMIN_KEY_FILE: Final = "admin_key"
STATE_FILE: Final = "sandbox.json"
TENANT_NAME: Final = "default"
SERVICE_NAME: Final = "Herald sandbox"
DEMO_RECIPIENT: Final = "+14155552671"
"""The phone the README's curl texts: any valid US mobile works, this one is easy to read."""
INBOUND_PATH: Final = "/webhooks/twilio/inbound"


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by the owner only (created so, never widened)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o600)


def load_secret_key(settings: Settings, *, create: bool) -> Settings:
    """`settings` with `secret_key` filled from `HERALD_HOME/secret_key` when it is unset.

    With `create`, a missing file is generated (the sandbox); otherwise settings come back
    unchanged, and whoever needs the key reports its absence.
    """
    if settings.secret_key:
        return settings
    path = settings.home / SECRET_KEY_FILE
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
    elif create:
        settings.home.mkdir(parents=True, exist_ok=True)
        key = generate_secret_key()
        _write_private(path, key + "\n")
    else:
        return settings
    return dataclasses.replace(settings, secret_key=key)


def load_admin_key(settings: Settings) -> Settings:
    """`settings` with `admin_key` from `HERALD_HOME/admin_key`, generated there when missing."""
    if settings.admin_key:
        return settings
    path = settings.home / ADMIN_KEY_FILE
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
    else:
        settings.home.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(24)
        _write_private(path, key + "\n")
    return dataclasses.replace(settings, admin_key=key)


@dataclasses.dataclass(frozen=True, slots=True)
class SandboxInfo:
    """What a started sandbox tells the person who started it."""

    api_key: str
    tenant: Tenant
    phone_number: str
    messaging_service_sid: str
    emulator_url: str
    account_sid: str


async def _register_whatsapp_sender(
    session: aiohttp.ClientSession, config: EmulatorConfig, number: str
) -> None:
    """Make `number` a WhatsApp sender of the emulator account.

    The tenant sends WhatsApp from its default sender's `whatsapp:` address, which Twilio (and
    the emulator) refuse with 63007 unless the number is a registered WhatsApp sender; on Twilio
    that registration is a business verification, in the emulator one control call.
    """
    async with session.post(
        f"{config.base_url}/_emulator/whatsapp/senders",
        json={"phone_number": number, "account_sid": config.account_sid},
    ) as response:
        if response.status != HTTPStatus.CREATED:
            detail = await response.text()
            raise ConfigurationError(
                f"The emulator did not make {number} a WhatsApp sender ({response.status}: "
                f"{detail[:200]})."
            )


class Sandbox:
    """The in-process emulator, and the `default` tenant configured against it."""

    def __init__(self, settings: Settings, *, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._settings = load_admin_key(load_secret_key(settings, create=True))
        self._state_path = settings.home / STATE_FILE
        self._state = self._read_state()
        self.emulator_config = EmulatorConfig(
            account_sid=self._state.get("account_sid", ""),
            auth_token=self._state.get("auth_token", ""),
            test_account_sid=self._state.get("test_account_sid", ""),
            test_auth_token=self._state.get("test_auth_token", ""),
            host=settings.host,
            port=settings.emulator_port,
        )
        self._servers = Servers()

    @property
    def settings(self) -> Settings:
        """The gateway's settings: the secret key filled in, Twilio's URL the emulator's."""
        return dataclasses.replace(self._settings, twilio_base_url=self.emulator_config.base_url)

    async def start(self) -> SandboxInfo:
        """Migrate, start the emulator, configure the tenant; what to tell the user."""
        settings = self.settings
        await upgrade(settings.database_url)
        await self._servers.start(
            create_app(self.emulator_config),
            host=self.emulator_config.host,
            port=self.emulator_config.port,
            lifespan="on",
            log_level=settings.log_level if settings.log_level != "info" else "warning",
            name="emulator",
        )
        try:
            return await self._provision(settings)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop the emulator (after the gateway, whose worker may still be talking to it)."""
        await self._servers.stop()

    async def _provision(self, settings: Settings) -> SandboxInfo:
        config = self.emulator_config
        credentials = TwilioCredentials.auth_token(config.account_sid, config.auth_token)
        inbound_url = settings.base_url + INBOUND_PATH
        async with aiohttp.ClientSession() as session:
            client = TwilioClient(session, credentials, base_url=config.base_url)
            number = await self._buy_number(client, inbound_url)
            service = await client.create_messaging_service(
                SERVICE_NAME, inbound_request_url=inbound_url, use_inbound_webhook_on_number=True
            )
            await client.add_number_to_service(service.sid, number.sid)
            await _register_whatsapp_sender(session, config, number.phone_number)
        engine = create_engine(settings.database_url)
        try:
            tenant = await self._tenant(engine, settings, number.phone_number, service.sid)
            api_key = await self._api_key(engine, tenant)
        finally:
            await engine.dispose()
        self._state.update(
            account_sid=config.account_sid,
            auth_token=config.auth_token,
            test_account_sid=config.test_account_sid,
            test_auth_token=config.test_auth_token,
            phone_number=number.phone_number,
            api_key=api_key,
        )
        _write_private(self._state_path, json.dumps(self._state, indent=2) + "\n")
        return SandboxInfo(
            api_key=api_key,
            tenant=tenant,
            phone_number=number.phone_number,
            messaging_service_sid=service.sid,
            emulator_url=config.base_url,
            account_sid=config.account_sid,
        )

    async def _buy_number(self, client: TwilioClient, inbound_url: str) -> IncomingNumber:
        previous = self._state.get("phone_number")
        if isinstance(previous, str) and previous:
            try:
                return await client.purchase_number(phone_number=previous, sms_url=inbound_url)
            except ProviderError:
                pass  # no longer on sale in this emulator: buy another below
        available = await client.list_available_numbers("US", kind="Local", page_size=1)
        if not available:
            raise ConfigurationError("The emulator has no US numbers on sale for the sandbox.")
        return await client.purchase_number(
            phone_number=available[0].phone_number, sms_url=inbound_url
        )

    async def _tenant(
        self, engine: AsyncEngine, settings: Settings, number: str, service_sid: str
    ) -> Tenant:
        tenants = TenantRepository(engine, SecretBox(settings.secret_key))
        config = self.emulator_config
        credentials = StoredCredentials(account_sid=config.account_sid, secret=config.auth_token)
        now = self._clock()
        tenant = await tenants.get_by_name(TENANT_NAME)
        if tenant is None:
            return await tenants.create(
                TENANT_NAME,
                now=now,
                credentials=credentials,
                settings=TenantSettings(default_sender=number, messaging_service_sid=service_sid),
            )
        changed = dataclasses.replace(
            tenant.settings, default_sender=number, messaging_service_sid=service_sid
        )
        await tenants.set_credentials(tenant.id, credentials, now=now)
        updated = await tenants.update_settings(tenant.id, changed, now=now)
        assert updated is not None
        return updated

    async def _api_key(self, engine: AsyncEngine, tenant: Tenant) -> str:
        keys = ApiKeyRepository(engine)
        previous = self._state.get("api_key")
        if isinstance(previous, str) and previous:
            owner = await keys.authenticate(previous)
            if owner is not None and owner.id == tenant.id:
                return previous
        created = await keys.create(tenant.id, label="sandbox", now=self._clock())
        return created.key

    def _read_state(self) -> dict[str, Any]:
        if not self._state_path.exists():
            return {}
        try:
            state = json.loads(self._state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"{self._state_path} cannot be read ({exc}); delete it to start a fresh sandbox."
            ) from None
        if not isinstance(state, dict):
            raise ConfigurationError(
                f"{self._state_path} is not a JSON object; delete it to start a fresh sandbox."
            )
        return state
