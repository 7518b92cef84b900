"""Read-only queries for the admin pages: across tenants, or one tenant when asked.

The API's repositories answer one tenant at a time; the operator behind `/admin` looks at all
of them. Nothing here writes. The aggregates group in the database and return a few hundred
rows at most, whatever the number of messages: per day and status, per calling-code prefix
and status, per sender and status.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from herald.domain.lifecycle import Status
from herald.domain.phone import Channel
from herald.domain.records import (
    EventDelivery,
    MessageFilter,
    MessageRecord,
    OptOut,
    OptOutChange,
    OptOutSource,
    Page,
    StatusChange,
    WebhookEndpoint,
)
from herald.errors import InvalidInput
from herald.storage.deliveries import delivery_from_row
from herald.storage.dialect import snapshot_read
from herald.storage.endpoints import endpoint_from_row
from herald.storage.history import message_from_row, read_history
from herald.storage.schema import (
    event_deliveries,
    events,
    messages,
    opt_out_history,
    opt_outs,
    webhook_endpoints,
)

MAX_PAGE: Final = 200
PREFIX_LENGTH: Final = 4
"""`+` and three digits: country calling codes are prefix-free and at most three digits long."""


@dataclasses.dataclass(frozen=True, slots=True)
class Tally:
    """Messages and segments counted under one key (a day, a prefix) and sender, and status."""

    key: str
    sender: str
    channel: str
    status: Status
    messages: int
    segments: int


@dataclasses.dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A delivery of an event to an endpoint, with the event's type."""

    delivery: EventDelivery
    event_type: str


class AdminReads:
    """The admin pages' queries; `tenant_id=None` means every tenant."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def messages(
        self,
        tenant_id: str | None,
        filters: MessageFilter,
        *,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[MessageRecord]:
        """Messages newest first, `limit` at a time; `filters.to` matches either party."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}; got {limit}.")
        m = messages.c
        conditions: list[ColumnElement[bool]] = []
        if tenant_id is not None:
            conditions.append(m.tenant_id == tenant_id)
        if filters.status is not None:
            conditions.append(m.status == filters.status.value)
        if filters.channel is not None:
            conditions.append(m.channel == filters.channel.value)
        if filters.to is not None:
            conditions.append(or_(m.to_address == filters.to, m.from_address == filters.to))
        if filters.created_from is not None:
            conditions.append(m.created_at >= filters.created_from)
        if filters.created_to is not None:
            conditions.append(m.created_at <= filters.created_to)
        if cursor is not None:
            created, last_id = decode_cursor(cursor)
            conditions.append(
                or_(m.created_at < created, and_(m.created_at == created, m.id < last_id))
            )
        query = (
            select(messages)
            .where(*conditions)
            .order_by(m.created_at.desc(), m.id.desc())
            .limit(limit + 1)
        )
        async with self._engine.connect() as connection:
            records = [message_from_row(row) for row in await connection.execute(query)]
        more = len(records) > limit
        records = records[:limit]
        return Page(items=tuple(records), next_cursor=encode_cursor(records[-1]) if more else None)

    async def message(self, message_id: str) -> tuple[MessageRecord, list[StatusChange]] | None:
        """A message of any tenant with its history, oldest first, read in one snapshot (so the
        status never contradicts the history); None if there is none."""
        async with snapshot_read(self._engine) as connection:
            row = (
                await connection.execute(select(messages).where(messages.c.id == message_id))
            ).first()
            if row is None:
                return None
            return message_from_row(row), await read_history(connection, message_id)

    async def by_day(self, tenant_id: str | None, since: datetime) -> list[Tally]:
        """Messages created since `since`, by UTC day (`YYYY-MM-DD`) and status."""
        m = messages.c
        if self._engine.dialect.name == "sqlite":
            # Stored as fixed-width ISO text in UTC: the first ten characters are the day.
            day: ColumnElement[Any] = func.substr(m.created_at, 1, 10)
        else:
            day = func.to_char(func.timezone("UTC", m.created_at), "YYYY-MM-DD")
        return await self._tally(day, tenant_id, since)

    async def by_route(self, tenant_id: str | None, since: datetime) -> list[Tally]:
        """Messages created since `since`, by recipient prefix (the first four characters of
        the bare number: `+` and enough digits for any calling code) and by sender (`-` when
        Twilio chose it). One scan serves the country and the sender tables."""
        m = messages.c
        bare = func.replace(m.to_address, "whatsapp:", "")
        return await self._tally(
            func.substr(bare, 1, PREFIX_LENGTH),
            tenant_id,
            since,
            sender=func.coalesce(m.from_address, "-"),
        )

    async def _tally(
        self,
        key: ColumnElement[Any],
        tenant_id: str | None,
        since: datetime,
        *,
        sender: ColumnElement[Any] | None = None,
    ) -> list[Tally]:
        m = messages.c
        grouped = key.label("key")
        by_sender = (sender if sender is not None else literal("")).label("sender")
        query = (
            select(
                grouped,
                by_sender,
                m.channel,
                m.status,
                func.count().label("messages"),
                func.coalesce(func.sum(m.segments), 0).label("segments"),
            )
            .where(m.created_at >= since)
            .group_by(grouped, by_sender, m.channel, m.status)
        )
        if tenant_id is not None:
            query = query.where(m.tenant_id == tenant_id)
        async with self._engine.connect() as connection:
            rows = await connection.execute(query)
            return [
                Tally(
                    key=str(row.key),
                    sender=str(row.sender),
                    channel=row.channel,
                    status=Status(row.status),
                    messages=int(row.messages),
                    segments=int(row.segments),
                )
                for row in rows
            ]

    async def waiting(self, tenant_id: str | None) -> dict[Status, int]:
        """How many messages wait in the outbox, accepted or scheduled."""
        m = messages.c
        query = (
            select(m.status, func.count())
            .where(m.status.in_([Status.ACCEPTED.value, Status.SCHEDULED.value]))
            .group_by(m.status)
        )
        if tenant_id is not None:
            query = query.where(m.tenant_id == tenant_id)
        async with self._engine.connect() as connection:
            counts = {
                Status(status): int(count) for status, count in await connection.execute(query)
            }
        return {status: counts.get(status, 0) for status in (Status.ACCEPTED, Status.SCHEDULED)}

    async def opt_outs(self, tenant_id: str | None, *, limit: int = 100) -> list[OptOut]:
        """Addresses currently opted out, most recently changed first."""
        query = select(opt_outs).where(opt_outs.c.opted_out.is_(True))
        if tenant_id is not None:
            query = query.where(opt_outs.c.tenant_id == tenant_id)
        query = query.order_by(opt_outs.c.updated_at.desc(), opt_outs.c.address).limit(limit)
        async with self._engine.connect() as connection:
            return [_opt_out(row) for row in await connection.execute(query)]

    async def opt_out_history(
        self, tenant_id: str | None, *, limit: int = 100
    ) -> list[OptOutChange]:
        """The latest opt-out changes (opting out and back in), newest first."""
        h = opt_out_history.c
        query = select(opt_out_history).order_by(h.id.desc()).limit(limit)
        if tenant_id is not None:
            query = query.where(h.tenant_id == tenant_id)
        async with self._engine.connect() as connection:
            return [
                OptOutChange(
                    id=row.id,
                    tenant_id=row.tenant_id,
                    channel=Channel(row.channel),
                    address=row.address,
                    opted_out=row.opted_out,
                    source=OptOutSource(row.source),
                    keyword=row.keyword,
                    occurred_at=row.occurred_at,
                )
                for row in await connection.execute(query)
            ]

    async def endpoints(self, tenant_id: str | None) -> list[WebhookEndpoint]:
        """Webhook endpoints, disabled ones too, oldest first."""
        e = webhook_endpoints.c
        query = select(webhook_endpoints).order_by(e.created_at, e.id)
        if tenant_id is not None:
            query = query.where(e.tenant_id == tenant_id)
        async with self._engine.connect() as connection:
            return [endpoint_from_row(row) for row in await connection.execute(query)]

    async def recent_deliveries(
        self, endpoint_ids: Sequence[str], *, per_endpoint: int = 10
    ) -> dict[str, list[DeliveryRow]]:
        """Each endpoint's latest deliveries, newest first."""
        found: dict[str, list[DeliveryRow]] = {endpoint: [] for endpoint in endpoint_ids}
        d = event_deliveries.c
        async with self._engine.connect() as connection:
            for endpoint in endpoint_ids:
                query = (
                    select(event_deliveries, events.c.type.label("event_type"))
                    .join(events, events.c.id == d.event_id)
                    .where(d.endpoint_id == endpoint)
                    .order_by(d.id.desc())
                    .limit(per_endpoint)
                )
                found[endpoint] = [
                    DeliveryRow(delivery=delivery_from_row(row), event_type=row.event_type)
                    for row in await connection.execute(query)
                ]
        return found


def _opt_out(row: Any) -> OptOut:
    return OptOut(
        tenant_id=row.tenant_id,
        channel=Channel(row.channel),
        address=row.address,
        opted_out=row.opted_out,
        source=OptOutSource(row.source),
        keyword=row.keyword,
        updated_at=row.updated_at,
    )


def encode_cursor(record: MessageRecord) -> str:
    """The opaque cursor that continues after `record`."""
    raw = f"{record.created_at.isoformat()}|{record.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(created_at, id) of a cursor from `encode_cursor`, or `InvalidInput`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_text, _, last_id = raw.partition("|")
        created = datetime.fromisoformat(created_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        created, last_id = datetime.min.replace(tzinfo=UTC), ""
    if not last_id or created.tzinfo is None:
        raise InvalidInput(
            "That page link is not one Herald made; start again from the first page."
        )
    return created, last_id
