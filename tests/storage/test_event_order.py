"""A poller that follows its cursor never skips an event whose transaction commits late."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import Tenant
from herald.storage.dialect import write_transaction
from herald.storage.events import MESSAGE_INBOUND, EventRepository, append_event
from herald.storage.messages import MessageRepository
from tests.storage.storage_helpers import NOW, sms

RACE_SECONDS = 0.3
"""Time for the second append to commit ahead of the first, as it could without the lock."""


async def test_a_late_commit_is_not_skipped_by_the_cursor(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """An event appended first but committed last is still served after the poll's cursor."""
    repository = EventRepository(engine)
    async with write_transaction(engine) as first:
        early = await append_event(
            first, tenant_id=tenant.id, type_=MESSAGE_INBOUND, payload={"n": 1}, now=NOW
        )
        second = asyncio.create_task(
            repository.append(tenant.id, MESSAGE_INBOUND, {"n": 2}, now=NOW)
        )
        # Waiting cannot make the test pass wrongly: with the lock the second append waits for
        # the first commit whatever the time, without it this is ample to commit ahead.
        await asyncio.sleep(RACE_SECONDS)
        polled = await repository.list_after(tenant.id)
    late = await second

    cursor = polled[-1].id if polled else None
    polled += await repository.list_after(tenant.id, after=cursor)

    assert [event.public_id for event in polled] == [early.public_id, late.public_id]


async def test_an_accepted_message_event_waits_for_a_late_commit_too(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    """An accept takes the same lock (in its one statement on PostgreSQL): its event comes
    after one appended before it, even when that commits last."""
    repository = EventRepository(engine)
    async with write_transaction(engine) as first:
        early = await append_event(
            first, tenant_id=tenant.id, type_=MESSAGE_INBOUND, payload={"n": 1}, now=NOW
        )
        second = asyncio.create_task(MessageRepository(engine).accept(tenant.id, sms(), now=NOW))
        await asyncio.sleep(RACE_SECONDS)
        polled = await repository.list_after(tenant.id)
    accepted = await second

    cursor = polled[-1].id if polled else None
    polled += await repository.list_after(tenant.id, after=cursor)

    assert polled[0].public_id == early.public_id
    assert [event.payload.get("message_id") for event in polled] == [None, accepted.message.id]
