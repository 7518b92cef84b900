"""Deliveries of events to webhook endpoints, claimed under a lease like the outbox.

Rows are created by `events.append_event` (one per matching endpoint). A pending delivery has
a `next_attempt_at`; a finished one (delivered, given up) has none and leaves the due index.
Workers claim due deliveries with the same `SKIP LOCKED` statement as messages, and record the
outcome only while their lease holds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import DeliveryTask, EventDelivery
from herald.errors import InvalidInput
from herald.storage.crypto import SecretBox
from herald.storage.dialect import claim_statement, write_transaction
from herald.storage.events import event_from_row
from herald.storage.schema import event_deliveries, events, webhook_endpoints


class EventDeliveries:
    """Claims due event deliveries for workers and records their outcomes."""

    def __init__(self, engine: AsyncEngine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box

    async def claim(
        self, worker_id: str, *, now: datetime, lease_seconds: float, limit: int
    ) -> list[DeliveryTask]:
        """Lease up to `limit` due deliveries, each with its event, URL and signing secret."""
        if limit < 1 or lease_seconds <= 0:
            raise InvalidInput("claim needs a positive limit and lease.")
        d = event_deliveries.c
        due = and_(
            d.next_attempt_at <= now,
            or_(d.lease_expires_at.is_(None), d.lease_expires_at <= now),
        )
        async with write_transaction(self._engine) as connection:
            statement = claim_statement(
                connection,
                event_deliveries,
                due=due,
                order_by=[d.next_attempt_at, d.id],
                limit=limit,
                values={
                    "lease_owner": worker_id,
                    "lease_expires_at": now + timedelta(seconds=lease_seconds),
                    "attempts": d.attempts + 1,
                },
            )
            claimed = [delivery_from_row(row) for row in await connection.execute(statement)]
            if not claimed:
                return []
            event_rows = await connection.execute(
                select(events).where(events.c.id.in_({each.event_id for each in claimed}))
            )
            found_events = {row.id: event_from_row(row) for row in event_rows}
            endpoint_rows = await connection.execute(
                select(
                    webhook_endpoints.c.id,
                    webhook_endpoints.c.url,
                    webhook_endpoints.c.secret_encrypted,
                ).where(webhook_endpoints.c.id.in_({each.endpoint_id for each in claimed}))
            )
            endpoints = {row.id: (row.url, row.secret_encrypted) for row in endpoint_rows}
        tasks = []
        for delivery in sorted(claimed, key=lambda each: (each.next_attempt_at or now, each.id)):
            url, token = endpoints[delivery.endpoint_id]
            tasks.append(
                DeliveryTask(
                    delivery=delivery,
                    event=found_events[delivery.event_id],
                    url=url,
                    secret=self._box.decrypt(token),
                )
            )
        return tasks

    async def record_success(
        self, delivery_id: int, worker_id: str, *, now: datetime, status_code: int
    ) -> bool:
        """The endpoint accepted the event; False if the lease was lost."""
        return await self._settle(
            delivery_id,
            worker_id,
            now,
            {
                "delivered_at": now,
                "next_attempt_at": None,
                "last_status_code": status_code,
                "last_error": None,
            },
        )

    async def schedule_retry(
        self,
        delivery_id: int,
        worker_id: str,
        *,
        now: datetime,
        next_attempt_at: datetime,
        status_code: int | None,
        error: str,
    ) -> bool:
        """The attempt failed; try again at `next_attempt_at`. False if the lease was lost."""
        return await self._settle(
            delivery_id,
            worker_id,
            now,
            {
                "next_attempt_at": next_attempt_at,
                "last_status_code": status_code,
                "last_error": error,
            },
        )

    async def give_up(
        self,
        delivery_id: int,
        worker_id: str,
        *,
        now: datetime,
        status_code: int | None,
        error: str,
    ) -> bool:
        """Stop trying (retries exhausted); False if the lease was lost."""
        return await self._settle(
            delivery_id,
            worker_id,
            now,
            {
                "given_up_at": now,
                "next_attempt_at": None,
                "last_status_code": status_code,
                "last_error": error,
            },
        )

    async def for_event(self, event_id: int) -> list[EventDelivery]:
        """Every delivery of one event, by endpoint."""
        query = (
            select(event_deliveries)
            .where(event_deliveries.c.event_id == event_id)
            .order_by(event_deliveries.c.endpoint_id)
        )
        async with self._engine.connect() as connection:
            return [delivery_from_row(row) for row in await connection.execute(query)]

    async def _settle(
        self, delivery_id: int, worker_id: str, now: datetime, values: dict[str, Any]
    ) -> bool:
        d = event_deliveries.c
        async with write_transaction(self._engine) as connection:
            result = await connection.execute(
                update(event_deliveries)
                .where(d.id == delivery_id, d.lease_owner == worker_id, d.lease_expires_at > now)
                .values(**values, lease_owner=None, lease_expires_at=None)
                .returning(d.id)
            )
            return result.first() is not None


def delivery_from_row(row: Row[Any]) -> EventDelivery:
    """An `EventDelivery` from a row of `event_deliveries`."""
    return EventDelivery(
        id=row.id,
        event_id=row.event_id,
        endpoint_id=row.endpoint_id,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        given_up_at=row.given_up_at,
        created_at=row.created_at,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
    )
