"""Events: what happened, for the application, in order; appended with their deliveries.

An event is appended in the same transaction as the change it reports (a status change, an
opt-out, an inbound message), and in that transaction it is fanned out: one `event_deliveries`
row per active webhook endpoint of the tenant that wants its type. So an event is never lost
between the change and its delivery, and never delivered for a change that was rolled back.

The payload stored is the event's `data`, built by `herald.domain.events`; the envelope
(`id`, `type`, `created_at`) comes from the row: `public_id` (`evt_...`) is the envelope's
`id`, the stable id applications de-duplicate on. The integer `id` orders events and is the
polling cursor (`GET /v1/events?after=`); a tenant's ids become visible in that order, so a
poller that passes its cursor on never skips an event committed late.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, insert, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from herald.domain.events import EventType
from herald.domain.records import Event
from herald.errors import InvalidInput
from herald.storage import ids
from herald.storage.dialect import order_tenant_events, write_transaction
from herald.storage.schema import (
    event_deliveries,
    events,
    webhook_endpoints,
)

MESSAGE_STATUS_CHANGED: Final = EventType.MESSAGE_STATUS_CHANGED.value
MESSAGE_INBOUND: Final = EventType.MESSAGE_INBOUND.value
OPT_OUT_CHANGED: Final = EventType.OPT_OUT_CHANGED.value
MAX_PAGE: Final = 500


def event_types_column(event_types: tuple[str, ...]) -> str:
    """How an endpoint's type filter is stored: "" for every type, else ",a,b,"."""
    return "," + ",".join(event_types) + "," if event_types else ""


@dataclasses.dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append: its tenant, type, `data` and time."""

    tenant_id: str
    type: str
    payload: Mapping[str, Any]
    created_at: datetime


async def append_event(
    connection: AsyncConnection,
    *,
    tenant_id: str,
    type_: str,
    payload: Mapping[str, Any],
    now: datetime,
) -> Event:
    """Append an event inside the caller's transaction and fan it out to the endpoints.

    It must be the transaction's last write: on PostgreSQL it holds the tenant's event lock
    until the commit (`order_tenant_events`).
    """
    [event] = await append_events(connection, [NewEvent(tenant_id, type_, payload, now)])
    return event


async def append_events(connection: AsyncConnection, new: Sequence[NewEvent]) -> list[Event]:
    """Append events (of any tenants) in the caller's transaction, in order, with their fan-out.

    Like `append_event`, the transaction's last write. The tenants' event locks are taken in
    the order of their ids, so that two transactions appending for the same tenants cannot
    deadlock.
    """
    for tenant_id in sorted({event.tenant_id for event in new}):
        await order_tenant_events(connection, tenant_id)
    appended = [
        Event(
            id=0,
            public_id=ids.new_id(ids.EVENT, event.created_at),
            tenant_id=event.tenant_id,
            type=event.type,
            payload=dict(event.payload),
            created_at=event.created_at,
        )
        for event in new
    ]
    rows = [
        {
            "public_id": event.public_id,
            "tenant_id": event.tenant_id,
            "type": event.type,
            "payload": event.payload,
            "created_at": event.created_at,
        }
        for event in appended
    ]
    # One statement for all rows; the ids are matched back by `public_id`, in any order.
    result = await connection.execute(
        insert(events).returning(events.c.id, events.c.public_id), rows
    )
    event_ids = {public_id: event_id for event_id, public_id in result}
    appended = [dataclasses.replace(event, id=event_ids[event.public_id]) for event in appended]
    for type_ in sorted({event.type for event in appended}):
        await _fan_out(connection, [e.id for e in appended if e.type == type_], type_)
    return appended


async def _fan_out(connection: AsyncConnection, event_ids: Sequence[int], type_: str) -> None:
    """One delivery per event of type `type_` and active endpoint of its tenant that wants it,
    due at once."""
    endpoint = webhook_endpoints.c
    wanted = (
        select(
            events.c.id,
            endpoint.id,
            literal(0),
            events.c.created_at,
            events.c.created_at,
        )
        .join_from(events, webhook_endpoints, endpoint.tenant_id == events.c.tenant_id)
        .where(
            events.c.id.in_(event_ids),
            endpoint.disabled_at.is_(None),
            or_(
                endpoint.event_types == "",
                endpoint.event_types.contains(f",{type_},", autoescape=True),
            ),
        )
    )
    await connection.execute(
        insert(event_deliveries).from_select(
            ["event_id", "endpoint_id", "attempts", "next_attempt_at", "created_at"], wanted
        )
    )


class EventRepository:
    """Appends events and serves them to pollers, oldest first after a cursor."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def append(
        self, tenant_id: str, type_: str, payload: Mapping[str, Any], *, now: datetime
    ) -> Event:
        """Append an event on its own (changes that emit events do it in their transaction)."""
        async with write_transaction(self._engine) as connection:
            return await append_event(
                connection, tenant_id=tenant_id, type_=type_, payload=payload, now=now
            )

    async def list_after(
        self,
        tenant_id: str,
        *,
        after: int | None = None,
        limit: int = 100,
        types: tuple[str, ...] = (),
    ) -> list[Event]:
        """The tenant's events with an id above `after`, oldest first, at most `limit`."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}; got {limit}.")
        query = select(events).where(events.c.tenant_id == tenant_id)
        if after is not None:
            query = query.where(events.c.id > after)
        if types:
            query = query.where(events.c.type.in_(types))
        async with self._engine.connect() as connection:
            rows = await connection.execute(query.order_by(events.c.id).limit(limit))
            return [event_from_row(row) for row in rows]

    async def get(self, tenant_id: str, public_id: str) -> Event | None:
        """The tenant's event with this public id, or None."""
        query = select(events).where(
            events.c.tenant_id == tenant_id, events.c.public_id == public_id
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else event_from_row(row)


def event_from_row(row: Row[Any]) -> Event:
    """An `Event` from a row of `events`."""
    return Event(
        id=row.id,
        public_id=row.public_id,
        tenant_id=row.tenant_id,
        type=row.type,
        payload=row.payload,
        created_at=row.created_at,
    )
