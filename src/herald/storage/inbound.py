"""Inbound messages, and the WhatsApp customer-service windows they open.

Storing an inbound message is one transaction: the message (once: a webhook delivered twice
stores one row, keyed by the provider's SID), for WhatsApp the window it opens, and the
`message.inbound` event for the application.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from herald.domain.events import message_inbound_data
from herald.domain.keywords import NO_MATCH, KeywordKind, KeywordMatch
from herald.domain.phone import Channel
from herald.domain.records import InboundMessage, NewInbound, Received
from herald.errors import Conflict, InvalidInput
from herald.storage import ids
from herald.storage.dialect import excluded, insert_ignoring_duplicates, upsert, write_transaction
from herald.storage.events import MESSAGE_INBOUND, append_event
from herald.storage.schema import inbound_messages, whatsapp_windows

MAX_PAGE: Final = 200


class InboundRepository:
    """Stores and reads the messages people send to a tenant's numbers."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def insert(self, tenant_id: str, message: NewInbound, *, now: datetime) -> Received:
        """Store `message`; a duplicate of a stored SID returns the stored one, `created=False`."""
        values: dict[str, Any] = {
            "id": ids.new_id(ids.INBOUND, now),
            "tenant_id": tenant_id,
            "provider_sid": message.provider_sid,
            "channel": message.channel.value,
            "from_address": message.from_,
            "to_address": message.to,
            "body": message.body,
            "num_media": message.num_media,
            "media": [dict(item) for item in message.media],
            "keyword_kind": message.keyword_kind.value,
            "keyword": message.keyword,
            "keyword_language": message.keyword_language,
            "received_at": now,
        }
        async with write_transaction(self._engine) as connection:
            result = await connection.execute(
                insert_ignoring_duplicates(connection, inbound_messages, values)
            )
            if result.rowcount != 1:
                existing = await _by_sid(connection, message.provider_sid)
                if existing.tenant_id != tenant_id:
                    raise Conflict(
                        f"The inbound message {message.provider_sid} is already stored for "
                        "another tenant; check which tenant owns the number it was sent to."
                    )
                return Received(message=existing, created=False)
            stored = _inbound(values)
            if message.channel is Channel.WHATSAPP:
                await record_window(
                    connection,
                    tenant_id=tenant_id,
                    business=message.to,
                    customer=message.from_,
                    at=now,
                )
            await append_event(
                connection,
                tenant_id=tenant_id,
                type_=MESSAGE_INBOUND,
                payload=message_inbound_data(
                    message_id=stored.id,
                    channel=stored.channel,
                    from_=stored.from_,
                    to=stored.to,
                    body=stored.body,
                    received_at=now,
                    media=stored.media,
                    keyword=_keyword_match(stored),
                    provider_sid=stored.provider_sid,
                ),
                now=now,
            )
            return Received(message=stored, created=True)

    async def get(self, tenant_id: str, inbound_id: str) -> InboundMessage | None:
        """The tenant's inbound message with this id, or None."""
        query = select(inbound_messages).where(
            inbound_messages.c.id == inbound_id, inbound_messages.c.tenant_id == tenant_id
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else _inbound(row._mapping)  # noqa: SLF001 - public view

    async def list(
        self, tenant_id: str, *, limit: int = 50, before_id: str | None = None
    ) -> list[InboundMessage]:
        """The tenant's inbound messages, newest first; `before_id` pages past a given one."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}; got {limit}.")
        i = inbound_messages.c
        query = select(inbound_messages).where(i.tenant_id == tenant_id)
        if before_id is not None:
            query = query.where(i.id < before_id)
        query = query.order_by(i.id.desc()).limit(limit)
        async with self._engine.connect() as connection:
            rows = await connection.execute(query)
            return [_inbound(row._mapping) for row in rows]  # noqa: SLF001 - public view

    async def record_window(
        self, tenant_id: str, *, business: str, customer: str, at: datetime
    ) -> None:
        """Record that `customer` wrote to `business` on WhatsApp at `at` (never moves back)."""
        async with write_transaction(self._engine) as connection:
            await record_window(
                connection, tenant_id=tenant_id, business=business, customer=customer, at=at
            )

    async def last_inbound_at(
        self, tenant_id: str, *, business: str, customer: str
    ) -> datetime | None:
        """When `customer` last wrote to `business` on WhatsApp, or None if never."""
        w = whatsapp_windows.c
        query = select(w.last_inbound_at).where(
            w.tenant_id == tenant_id, w.business_address == business, w.customer_address == customer
        )
        async with self._engine.connect() as connection:
            value: datetime | None = await connection.scalar(query)
            return value

    async def last_inbound_from(self, tenant_id: str, *, customer: str) -> datetime | None:
        """When `customer` last wrote to any of the tenant's WhatsApp senders, or None.

        A Messaging Service picks the WhatsApp sender from its pool, so for a message sent
        through one the window that counts is the customer's latest with any sender.
        """
        w = whatsapp_windows.c
        query = select(func.max(w.last_inbound_at)).where(
            w.tenant_id == tenant_id, w.customer_address == customer
        )
        async with self._engine.connect() as connection:
            value: datetime | None = await connection.scalar(query)
            return value


async def record_window(
    connection: AsyncConnection, *, tenant_id: str, business: str, customer: str, at: datetime
) -> None:
    """Open (or extend) a WhatsApp window inside the caller's transaction."""
    proposed = excluded(connection, whatsapp_windows)
    current = whatsapp_windows.c.last_inbound_at
    await connection.execute(
        upsert(
            connection,
            whatsapp_windows,
            {
                "tenant_id": tenant_id,
                "business_address": business,
                "customer_address": customer,
                "last_inbound_at": at,
            },
            key=["tenant_id", "business_address", "customer_address"],
            # A late webhook must not shorten the window another one opened.
            update_with={
                "last_inbound_at": case(
                    (proposed.last_inbound_at > current, proposed.last_inbound_at),
                    else_=current,
                )
            },
        )
    )


async def _by_sid(connection: AsyncConnection, provider_sid: str) -> InboundMessage:
    query = select(inbound_messages).where(inbound_messages.c.provider_sid == provider_sid)
    row: Row[Any] = (await connection.execute(query)).one()
    return _inbound(row._mapping)  # noqa: SLF001 - Row's public mapping view


def _inbound(values: Any) -> InboundMessage:
    return InboundMessage(
        id=values["id"],
        tenant_id=values["tenant_id"],
        provider_sid=values["provider_sid"],
        channel=Channel(values["channel"]),
        from_=values["from_address"],
        to=values["to_address"],
        body=values["body"],
        num_media=values["num_media"],
        media=tuple(values["media"]),
        keyword_kind=KeywordKind(values["keyword_kind"]),
        keyword=values["keyword"],
        keyword_language=values["keyword_language"],
        received_at=values["received_at"],
    )


def _keyword_match(message: InboundMessage) -> KeywordMatch:
    if message.keyword_kind is KeywordKind.NONE:
        return NO_MATCH
    return KeywordMatch(message.keyword_kind, message.keyword, message.keyword_language)
