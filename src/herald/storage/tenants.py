"""Tenants: their Twilio credentials (encrypted at rest) and their settings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import Tenant, TenantSettings, TwilioCredentials
from herald.errors import Conflict, InvalidInput
from herald.storage import ids
from herald.storage.crypto import SecretBox
from herald.storage.dialect import write_transaction
from herald.storage.schema import tenants

_MAX_NAME = 100


class TenantRepository:
    """Creates, finds and updates tenants; the only code that sees their decrypted secrets."""

    def __init__(self, engine: AsyncEngine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box

    async def create(
        self,
        name: str,
        *,
        now: datetime,
        credentials: TwilioCredentials | None = None,
        settings: TenantSettings | None = None,
    ) -> Tenant:
        """A new tenant; `Conflict` if the name is taken, `InvalidInput` if it is unusable."""
        name = _checked_name(name)
        values: dict[str, Any] = {
            "id": ids.new_id(ids.TENANT, now),
            "name": name,
            "created_at": now,
            "updated_at": now,
            **_settings_values(settings or TenantSettings()),
            **self._credential_values(credentials),
        }
        try:
            async with write_transaction(self._engine) as connection:
                await connection.execute(insert(tenants).values(**values))
        except IntegrityError:
            raise Conflict(
                f"A tenant named {name!r} already exists; choose another name."
            ) from None
        found = await self.get(values["id"])
        assert found is not None
        return found

    async def get(self, tenant_id: str) -> Tenant | None:
        """The tenant with this id, or None."""
        return await self._one(tenants.c.id == tenant_id)

    async def get_by_name(self, name: str) -> Tenant | None:
        """The tenant with this name, or None."""
        return await self._one(tenants.c.name == name)

    async def with_twilio_account(self, account_sid: str) -> list[Tenant]:
        """Every tenant on the Twilio account `account_sid`, by name (webhooks name only it)."""
        query = (
            select(tenants)
            .where(tenants.c.twilio_account_sid == account_sid)
            .order_by(tenants.c.name)
        )
        async with self._engine.connect() as connection:
            return [tenant_from_row(row) for row in await connection.execute(query)]

    async def list(self) -> list[Tenant]:
        """Every tenant, by name."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(select(tenants).order_by(tenants.c.name))
            return [tenant_from_row(row) for row in rows]

    async def update_settings(
        self, tenant_id: str, settings: TenantSettings, *, now: datetime
    ) -> Tenant | None:
        """Replace the tenant's settings; None if there is no such tenant."""
        return await self._update(tenant_id, _settings_values(settings), now)

    async def set_credentials(
        self, tenant_id: str, credentials: TwilioCredentials | None, *, now: datetime
    ) -> Tenant | None:
        """Replace (or with None, remove) the tenant's Twilio credentials."""
        return await self._update(tenant_id, self._credential_values(credentials), now)

    async def credentials(self, tenant_id: str) -> TwilioCredentials | None:
        """The tenant's decrypted Twilio credentials, or None if it has none (or no tenant)."""
        query = select(
            tenants.c.twilio_account_sid,
            tenants.c.twilio_key_sid,
            tenants.c.twilio_secret_encrypted,
        ).where(tenants.c.id == tenant_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None or row.twilio_account_sid is None or row.twilio_secret_encrypted is None:
            return None
        return TwilioCredentials(
            account_sid=row.twilio_account_sid,
            key_sid=row.twilio_key_sid,
            secret=self._box.decrypt(row.twilio_secret_encrypted),
        )

    async def _one(self, condition: Any) -> Tenant | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(tenants).where(condition))).first()
        return None if row is None else tenant_from_row(row)

    async def _update(
        self, tenant_id: str, values: Mapping[str, Any], now: datetime
    ) -> Tenant | None:
        async with write_transaction(self._engine) as connection:
            result = await connection.execute(
                update(tenants)
                .where(tenants.c.id == tenant_id)
                .values(**values, updated_at=now)
                .returning(*tenants.c)
            )
            row = result.first()
        return None if row is None else tenant_from_row(row)

    def _credential_values(self, credentials: TwilioCredentials | None) -> dict[str, Any]:
        if credentials is None:
            return {
                "twilio_account_sid": None,
                "twilio_key_sid": None,
                "twilio_secret_encrypted": None,
            }
        return {
            "twilio_account_sid": credentials.account_sid,
            "twilio_key_sid": credentials.key_sid,
            "twilio_secret_encrypted": self._box.encrypt(credentials.secret),
        }


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > _MAX_NAME or not name.isprintable():
        raise InvalidInput(
            f"A tenant name must be 1 to {_MAX_NAME} printable characters; got {name[:40]!r}."
        )
    return name


def _settings_values(settings: TenantSettings) -> dict[str, Any]:
    return {
        "default_sender": settings.default_sender,
        "default_region": settings.default_region,
        "messaging_service_sid": settings.messaging_service_sid,
        "opt_out_reply": settings.opt_out_reply,
        "opt_in_reply": settings.opt_in_reply,
        "help_reply": settings.help_reply,
        "keyword_additions": {
            kind: list(words) for kind, words in settings.keyword_additions.items()
        },
        "templates": dict(settings.templates),
    }


def tenant_from_row(row: Row[Any]) -> Tenant:
    """A `Tenant` from a row of `tenants` (also used by the API key lookup)."""
    return Tenant(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        updated_at=row.updated_at,
        twilio_account_sid=row.twilio_account_sid,
        twilio_key_sid=row.twilio_key_sid,
        has_twilio_secret=row.twilio_secret_encrypted is not None,
        settings=TenantSettings(
            default_sender=row.default_sender,
            default_region=row.default_region,
            messaging_service_sid=row.messaging_service_sid,
            opt_out_reply=row.opt_out_reply,
            opt_in_reply=row.opt_in_reply,
            help_reply=row.help_reply,
            keyword_additions={kind: tuple(words) for kind, words in row.keyword_additions.items()},
            templates=dict(row.templates),
        ),
    )
