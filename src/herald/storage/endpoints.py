"""Webhook endpoints: where a tenant wants its events, with the secret that signs them.

The signing secret (`whsec_...`, Standard Webhooks) is generated here, shown once in the
result of `create`, and kept encrypted: Herald needs it again for every delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import CreatedEndpoint, WebhookEndpoint
from herald.domain.webhook_signing import generate_webhook_secret
from herald.errors import InvalidInput
from herald.storage import ids
from herald.storage.crypto import SecretBox
from herald.storage.dialect import write_transaction
from herald.storage.events import event_types_column
from herald.storage.schema import event_deliveries, webhook_endpoints

_MAX_URL: Final = 2000
_GAVE_UP_DISABLED: Final = "the webhook endpoint was deleted"


class WebhookEndpointRepository:
    """Creates, lists and disables a tenant's webhook endpoints."""

    def __init__(self, engine: AsyncEngine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box

    async def create(
        self, tenant_id: str, url: str, *, now: datetime, event_types: Sequence[str] = ()
    ) -> CreatedEndpoint:
        """A new endpoint for `event_types` (all types when empty); the secret is shown once."""
        _check_url(url)
        types = tuple(dict.fromkeys(each.strip() for each in event_types))
        if any(not each or "," in each or not each.isprintable() for each in types):
            raise InvalidInput("Event types are names such as message.status_changed.")
        secret = generate_webhook_secret()
        endpoint = WebhookEndpoint(
            id=ids.new_id(ids.ENDPOINT, now),
            tenant_id=tenant_id,
            url=url,
            event_types=types,
            created_at=now,
            disabled_at=None,
        )
        async with write_transaction(self._engine) as connection:
            await connection.execute(
                insert(webhook_endpoints).values(
                    id=endpoint.id,
                    tenant_id=tenant_id,
                    url=url,
                    secret_encrypted=self._box.encrypt(secret),
                    event_types=event_types_column(types),
                    created_at=now,
                )
            )
        return CreatedEndpoint(endpoint=endpoint, secret=secret)

    async def get(self, tenant_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        """The tenant's endpoint with this id (disabled or not), or None."""
        query = select(webhook_endpoints).where(
            webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.tenant_id == tenant_id
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else endpoint_from_row(row)

    async def list(
        self, tenant_id: str, *, include_disabled: bool = False
    ) -> list[WebhookEndpoint]:
        """The tenant's endpoints, oldest first."""
        e = webhook_endpoints.c
        query = select(webhook_endpoints).where(e.tenant_id == tenant_id)
        if not include_disabled:
            query = query.where(e.disabled_at.is_(None))
        async with self._engine.connect() as connection:
            rows = await connection.execute(query.order_by(e.created_at, e.id))
            return [endpoint_from_row(row) for row in rows]

    async def disable(self, tenant_id: str, endpoint_id: str, *, now: datetime) -> bool:
        """Stop delivering to the endpoint and give up its pending deliveries; False if unknown.

        The row stays (deliveries refer to it), so its history remains readable.
        """
        e = webhook_endpoints.c
        async with write_transaction(self._engine) as connection:
            result = await connection.execute(
                update(webhook_endpoints)
                .where(e.id == endpoint_id, e.tenant_id == tenant_id, e.disabled_at.is_(None))
                .values(disabled_at=now)
                .returning(e.id)
            )
            if result.first() is None:
                return False
            d = event_deliveries.c
            await connection.execute(
                update(event_deliveries)
                .where(d.endpoint_id == endpoint_id, d.next_attempt_at.is_not(None))
                .values(
                    next_attempt_at=None,
                    given_up_at=now,
                    last_error=_GAVE_UP_DISABLED,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
            return True

    async def secret(self, endpoint_id: str) -> str | None:
        """The endpoint's decrypted signing secret, or None if there is no such endpoint."""
        query = select(webhook_endpoints.c.secret_encrypted).where(
            webhook_endpoints.c.id == endpoint_id
        )
        async with self._engine.connect() as connection:
            token: str | None = await connection.scalar(query)
        return None if token is None else self._box.decrypt(token)


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or len(url) > _MAX_URL:
        raise InvalidInput(
            f"A webhook endpoint URL must be an absolute http(s) URL of at most {_MAX_URL} "
            f"characters; got {url[:80]!r}."
        )


def endpoint_from_row(row: Row[Any]) -> WebhookEndpoint:
    """A `WebhookEndpoint` from a row of `webhook_endpoints`."""
    stored: str = row.event_types
    return WebhookEndpoint(
        id=row.id,
        tenant_id=row.tenant_id,
        url=row.url,
        event_types=tuple(each for each in stored.split(",") if each),
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )
